"""Who may change the articles from the chat page: the page's admin sign-in.

The page is open for asking; adding or removing articles needs an admin key,
the same rule as the API. A person signs in once with the key at ``/sign-in``
and gets a signed, HttpOnly, SameSite=Strict cookie naming the key's
fingerprint (never the key) and a random id of this sign-in; signing out
revokes that id in the store, so a copied cookie dies with it. Every request that changes the index checks that
cookie server-side: the Gradio upload route (in the guard) and the ingest
handler itself, so calling Gradio's endpoints directly gains nothing.

With no keys configured the page's controls are open only while the server
listens on loopback (``make serve`` on a laptop); ``serve`` refuses to listen
beyond it with uploads open (:func:`exposure_problem`).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..settings import Settings
from .auth import ApiKey, KeyRing
from .browser import served_over_https

if TYPE_CHECKING:
    from ..store.sign_outs import SignOutStore

log = logging.getLogger("assistant.web")

COOKIE = "assistant_admin"


class PageAccess:
    def __init__(self, keyring: KeyRing, settings: Settings, sign_outs: Callable[[], SignOutStore] | None = None):
        self.keyring = keyring
        self.settings = settings
        self._sign_outs = sign_outs  # the store's, opened on first use (every replica's); None: this process's own
        self._signed_out: set[str] = set()
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
        """A signed cookie naming the key's fingerprint (never the key) and this sign-in's own random id."""
        return self._signer.dumps({"key": key.fingerprint, "sign_in": secrets.token_urlsafe(24)})

    def _signed_in(self, cookies: Mapping[str, str]) -> tuple[dict, float] | None:
        """The cookie's content and when it was issued, if genuine and fresh."""
        token = cookies.get(COOKIE)
        if not token:
            return None
        try:
            content, issued = self._signer.loads(token, max_age=self.max_age, return_timestamp=True)
        except BadSignature:  # includes SignatureExpired
            return None
        return (content, issued.timestamp()) if isinstance(content, dict) else None

    def admin(self, cookies: Mapping[str, str]) -> ApiKey | None:
        """The admin key this browser signed in with, if the cookie is genuine, fresh, not signed out, and the key
        still configured."""
        signed = self._signed_in(cookies)
        if signed is None or self._is_signed_out(str(signed[0].get("sign_in"))):
            return None
        key = self.keyring.by_fingerprint(str(signed[0].get("key")))
        return key if key is not None and key.role == "admin" else None

    def sign_out(self, cookies: Mapping[str, str]) -> None:
        """Revoke this browser's sign-in: its cookie is refused from now on, wherever it is presented."""
        signed = self._signed_in(cookies)
        if signed is None:
            return
        sign_in = str(signed[0].get("sign_in"))
        if self._sign_outs is None:
            self._signed_out.add(sign_in)
            return
        expires = datetime.fromtimestamp(signed[1] + self.max_age, tz=UTC)
        self._sign_outs().sign_out(sign_in, expires)

    def _is_signed_out(self, sign_in: str) -> bool:
        if self._sign_outs is None:
            return sign_in in self._signed_out
        try:
            return self._sign_outs().signed_out(sign_in)
        except Exception:  # the database cannot say: refuse the sign-in rather than trust it
            log.warning("could not check the sign-in against the sign-outs", exc_info=True)
            return True

    def scope(self, cookies: Mapping[str, str]) -> tuple[str, ...] | None:
        """The collections this browser asks, lists and (if it may) changes: a signed-in admin's key's (None: every
        one); for anyone else, ``page_collections`` (empty: every one)."""
        key = self.admin(cookies)
        if key is not None:
            return key.scope
        names = tuple(sorted({n.strip() for n in self.settings.page_collections.split(",") if n.strip()}))
        return names or None

    def may_change_articles(self, cookies: Mapping[str, str]) -> bool:
        if self.off:
            return False
        if not self.keyring.has_admin:  # open only where no remote client reaches the page (serve refuses else)
            return exposure_problem(self.settings, self.keyring) is None
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
    """Why the server must not run as configured, or None: without an admin key the page's article controls are
    open, which is only safe where nobody but this machine's user reaches the server. A proxy forwarding to
    127.0.0.1 (trusted_proxies, or a public_url elsewhere) brings remote clients as surely as listening beyond it."""
    if settings.page_uploads == "off" or keyring.has_admin:
        return None
    fix = ("Set ASSISTANT_ADMIN_KEYS (or ASSISTANT_KEYS_FILE), or ASSISTANT_PAGE_UPLOADS=off")
    if not is_loopback(settings.host):
        return (f"refusing to listen on {settings.host}: no admin key is configured, so anyone who can reach the "
                f"server could add or replace articles from the chat page. {fix}, or listen on 127.0.0.1.")
    public = urlsplit(settings.public_url or "").hostname
    behind = [f"ASSISTANT_TRUSTED_PROXIES={settings.trusted_proxies}"] if settings.trusted_proxies.strip() else []
    if public and not is_loopback(public):
        behind.append(f"ASSISTANT_PUBLIC_URL={settings.public_url}")
    if behind:
        return (f"refusing to start: {' and '.join(behind)} say remote clients reach this server through a proxy, "
                f"and no admin key is configured, so they could add or replace articles from the chat page. {fix}.")
    return None


_FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in · Article assistant</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}}
input,button{{font:inherit;padding:.5rem;width:100%;box-sizing:border-box;margin:.3rem 0}}.error{{color:#b91c1c}}</style>
</head><body><main><h1>Sign in</h1><p>Sign in with an admin key to add or remove articles from the chat page.</p>
{message}<form method="post" action="/sign-in"><label for="key">Admin key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button></form><p><a href="/">Back to the chat page</a></p></main></body></html>"""

# No scripts, no framing, no referrer to other sites: the sign-in page is plain HTML. (Not no-referrer: with it,
# browsers send the form's POST with "Origin: null", which the guard refuses as not this server's own page.)
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
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
            secure=served_over_https(request.scope, access.settings), path="/",
        )
        return response

    @router.get("/sign-out")
    def sign_out(request: Request) -> RedirectResponse:
        access.sign_out(request.cookies)  # the cookie itself is revoked, not only dropped by this browser
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    return router
