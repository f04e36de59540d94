"""The gate in front of every ``/api/`` route: CORS, key, origin, role, rate and body size.

It is plain ASGI middleware rather than FastAPI dependencies so that it runs
before the body is read: a request without a key gets 401, not a 422 about its
body, and an oversized upload is refused before it is spooled to disk.
"""

from __future__ import annotations

import logging
import math
import time

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..settings import Settings
from .auth import ApiKey, KeyRing

log = logging.getLogger("assistant.web")

API_PREFIX = "/api/"
# The only routes a widget key may call.
WIDGET_ROUTES = {("POST", "/api/ask"), ("POST", "/api/ask/stream")}
UPLOAD_ROUTE = ("POST", "/api/articles")
KEY_HELP = "send an API key as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"


class BodyTooLarge(HTTPException):
    """Raised while the body streams in; FastAPI passes HTTPExceptions through to the JSON error handler."""

    def __init__(self, limit: int):
        super().__init__(413, f"request body is over the {limit:,}-byte limit")


class RateLimiter:
    """A token bucket per key: bursts up to ``per_minute`` requests, refilled evenly.

    Only touched from the event loop, so it needs no lock.
    """

    def __init__(self, per_minute: int, clock=time.monotonic):
        self.capacity = float(per_minute)
        self.refill_per_s = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # fingerprint -> (tokens, when)

    def take(self, who: str) -> float:
        """Spend a token: 0 if allowed, else the seconds until one is available."""
        now = self.clock()
        tokens, then = self._buckets.get(who, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) * self.refill_per_s)
        if tokens < 1:
            self._buckets[who] = (tokens, now)
            return (1 - tokens) / self.refill_per_s
        self._buckets[who] = (tokens - 1, now)
        return 0.0


def presented_key(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key") or None


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class ApiGuard:
    def __init__(self, app: ASGIApp, *, keyring: KeyRing, settings: Settings):
        self.app = app
        self.keyring = keyring
        self.limiter = RateLimiter(settings.api_rate_per_minute)
        self.max_json = settings.api_max_json_bytes
        self.max_upload = settings.api_max_upload_bytes
        # CORS only on /api/, only for widget origins; Gradio keeps its own policy for the chat page.
        self.cors = CORSMiddleware(
            self.guarded,
            allow_origins=sorted(keyring.widget_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            expose_headers=["Retry-After"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["path"] + "/").startswith(API_PREFIX):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        key = self.keyring.lookup(presented_key(headers))
        refusal = self.refusal(scope, headers, key)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        limit = self.max_upload if _route(scope) == UPLOAD_ROUTE else self.max_json
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await error(413, BodyTooLarge(limit).detail)(scope, receive, send)
            return
        await self.app(scope, _counting(receive, limit), send)

    def refusal(self, scope: Scope, headers: Headers, key: ApiKey | None) -> JSONResponse | None:
        """The error response for a request that may not go on, or None."""
        if key is None:
            if self.keyring.empty:
                message = "no API keys are configured on this server; set ASSISTANT_ADMIN_KEYS or ASSISTANT_KEYS_FILE"
            else:
                message = f"missing or unknown API key; {KEY_HELP}"
            return error(401, message, {"WWW-Authenticate": "Bearer"})
        origin = headers.get("origin")
        own_origin = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
        if not key.allows_origin(origin, own_origin):
            log.info("key %s refused from origin %s", key.fingerprint, origin)
            return error(403, f"this key may not be used from {origin or 'outside a browser'}; origin not allowed")
        if key.role == "widget" and _route(scope) not in WIDGET_ROUTES:
            return error(403, "a widget key may only ask questions")
        wait = self.limiter.take(key.fingerprint)
        if wait:
            log.info("key %s rate-limited", key.fingerprint)
            return error(429, "too many requests; slow down", {"Retry-After": str(math.ceil(wait))})
        return None


def _route(scope: Scope) -> tuple[str, str]:
    return scope["method"], scope["path"].rstrip("/")


def _counting(receive: Receive, limit: int) -> Receive:
    """Count body bytes as they arrive: Content-Length may be absent (chunked) or wrong."""
    received = 0

    async def receive_counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return receive_counted
