"""The chat page's browser session: whose conversations are whose.

The page's first response sets a random token in an HttpOnly, SameSite=Lax cookie (each later load of the page
renews its Max-Age); the store keys that
browser's conversations by a digest of it (the token itself is never stored). Unguessable tokens need no
signature: a made-up cookie is just a new, empty session. A browser without the cookie (a script calling
the page's endpoints, or cookies blocked) is answered but keeps nothing.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from http.cookies import SimpleCookie

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "assistant_session"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")
PAGE_PATHS = {"/", ""}  # where a browser first arrives


def page_owner(cookies: Mapping[str, str]) -> str | None:
    """The store's owner of this browser's conversations, or None without a (well-formed) session cookie."""
    token = cookies.get(COOKIE, "")
    if not _TOKEN.fullmatch(token):
        return None
    return "page:" + hashlib.sha256(token.encode()).hexdigest()[:40]


def _cookies(headers: Headers) -> dict[str, str]:
    jar = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is no session
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


class BrowserSessions:
    """ASGI middleware: a GET of the page without a session cookie gets one; with one, gets it again with a fresh
    Max-Age, so a browser in use keeps its conversations (they are deleted once unused, never for their age)."""

    def __init__(self, app: ASGIApp, *, max_age_s: int, settings):
        self.app = app
        self.max_age_s = max_age_s
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in PAGE_PATHS:
            await self.app(scope, receive, send)
            return
        cookies = _cookies(Headers(scope=scope))
        token = cookies[COOKIE] if page_owner(cookies) is not None else secrets.token_urlsafe(32)
        secure = "; Secure" if served_over_https(scope, self.settings) else ""
        cookie = f"{COOKIE}={token}; Path=/; Max-Age={self.max_age_s}; HttpOnly; SameSite=Lax{secure}"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.append("set-cookie", cookie)
                headers["cache-control"] = "private, no-store"  # a shared cache must not hand it to others
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _https(url: str | None) -> bool:
    return bool(url) and url.lower().startswith("https://")


def served_over_https(scope: Scope, settings) -> bool:
    """Behind a proxy that ends TLS without saying so (no X-Forwarded-Proto), public_url still says https: a
    cookie set then must be Secure, or a browser would send it over plain http too."""
    return scope.get("scheme") == "https" or _https(settings.public_url)
