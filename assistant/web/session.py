"""Who may change the articles from the chat page: the page's admin sign-in.

The page is open for asking; adding or removing articles needs an admin key,
the same rule as the API. A person signs in once with the key at ``/sign-in``
and gets a signed, HttpOnly, SameSite=Strict cookie naming the key's
fingerprint (never the key). Every request that changes the index checks that
cookie server-side: the Gradio upload route (in the guard) and the ingest
handler itself, so calling Gradio's endpoints directly gains nothing.

With no keys configured the page's controls are open only while the server
listens on loopback (``make serve`` on a laptop); ``serve`` refuses to listen
beyond it with uploads open (:func:`exposure_problem`).
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Mapping
from html import escape

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..settings import Settings
from .auth import ApiKey, KeyRing

COOKIE = "assistant_admin"


class PageAccess:
    def __init__(self, keyring: KeyRing, settings: Settings):
        self.keyring = keyring
        self.settings = settings
        secret = settings.session_secret.get_secret_value() if settings.session_secret else secrets.token_urlsafe(32)
        self._signer = URLSafeTimedSerializer(secret, salt="assistant-page-admin")
        self.max_age = int(settings.session_hours * 3600)

    @property
    def off(self) -> bool:
        return self.settings.page_uploads == "off"

    @property
    def needs_sign_in(self) -> bool:
        return not self.off and self.keyring.has_admin

    def cookie_for(self, key: ApiKey) -> str:
        return self._signer.dumps(key.fingerprint)

    def admin(self, cookies: Mapping[str, str]) -> ApiKey | None:
        """The admin key this browser signed in with, if the cookie is genuine, fresh and the key still configured."""
        token = cookies.get(COOKIE)
        if not token:
            return None
        try:
            fingerprint = self._signer.loads(token, max_age=self.max_age)
        except BadSignature:  # includes SignatureExpired
            return None
        key = self.keyring.by_fingerprint(fingerprint)
        return key if key is not None and key.role == "admin" else None

    def may_change_articles(self, cookies: Mapping[str, str]) -> bool:
        if self.off:
            return False
        if not self.keyring.has_admin:
            return is_loopback(self.settings.host)
        return self.admin(cookies) is not None

    def refusal(self) -> str:
        """Why this browser may not change the articles (for a 403 or the page)."""
        if self.off:
            return "adding articles from the chat page is switched off on this server (page_uploads = off)"
        if not self.keyring.has_admin:
            return "no admin key is configured and the server listens beyond 127.0.0.1: the page cannot add articles"
        return "sign in with the admin key at /sign-in to add or remove articles"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_problem(settings: Settings, keyring: KeyRing) -> str | None:
    """Why the server must not listen as configured, or None."""
    if is_loopback(settings.host) or settings.page_uploads == "off" or keyring.has_admin:
        return None
    return (
        f"refusing to listen on {settings.host}: no admin key is configured, so anyone who can reach the server "
        "could add or replace articles from the chat page. Set ASSISTANT_ADMIN_KEYS (or ASSISTANT_KEYS_FILE), "
        "or ASSISTANT_PAGE_UPLOADS=off, or listen on 127.0.0.1."
    )


_FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · Article assistant</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}}
input,button{{font:inherit;padding:.5rem;width:100%;box-sizing:border-box;margin:.3rem 0}}.error{{color:#b91c1c}}</style>
</head><body><h1>Sign in</h1><p>Sign in with an admin key to add or remove articles from the chat page.</p>
{message}<form method="post" action="/sign-in"><label for="key">Admin key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button></form><p><a href="/">Back to the chat page</a></p></body></html>"""

# No scripts, no framing, no referrer: the sign-in page is plain HTML.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def session_router(access: PageAccess) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def form(message: str = "", status: int = 200) -> HTMLResponse:
        html = _FORM.format(message=f'<p class="error" role="alert">{escape(message)}</p>' if message else "")
        return HTMLResponse(html, status_code=status, headers=_PAGE_HEADERS)

    @router.get("/sign-in")
    def sign_in_form() -> HTMLResponse:
        return form()

    @router.post("/sign-in", response_model=None)
    def sign_in(request: Request, key: str = Form("")) -> HTMLResponse | RedirectResponse:
        # A 401 here counts against this client's refused keys in the guard, like a wrong API key.
        found = access.keyring.lookup(key)
        if found is None or found.role != "admin":
            return form("That is not an admin key of this server.", status=401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE, access.cookie_for(found), max_age=access.max_age, httponly=True, samesite="strict",
            secure=request.url.scheme == "https", path="/",
        )
        return response

    @router.get("/sign-out")
    def sign_out() -> RedirectResponse:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return router
