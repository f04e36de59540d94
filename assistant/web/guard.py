"""The gate in front of every route: keys, origins, roles, rates and body sizes, for all surfaces.

    /api/…                 key (admin or widget) → origin → role → rate per client (an admin key's own; visitors') → body size
    /v1/…                  the same (the OpenAI-compatible API, :mod:`.openai_api`), refused in OpenAI's error shape
    chat page POSTs        rate per client → body size (Gradio serves each event handler over HTTP:
                           /gradio_api/call/<name>, /queue/join, /run/<name>, …, so they are doors too)
    /gradio_api/upload     also the page's admin sign-in (see :mod:`.session`)
    any URL with ?key=     refused: keys travel in headers, never in URLs that land in logs
    every request          its Host must name this server (421), and the page's POSTs come from the page
                           itself (403): see :mod:`.hosts`

It is plain ASGI middleware rather than FastAPI dependencies so that it runs
before the body is read: a request without a key gets 401, not a 422 about its
body, and an oversized upload is refused before it is spooled to disk. Every
401 a request ends with (a wrong key here, a wrong sign-in) counts against its
client's refused-key limit, and is logged with the key's fingerprint only.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from urllib.parse import unquote_plus

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..settings import Settings
from .auth import ApiKey, KeyRing, fingerprint, own_origins
from .hosts import ServedHosts, cross_site
from .limits import RateLimits
from .session import PageAccess

log = logging.getLogger("assistant.web")

API_PREFIX = "/api/"
MCP_PREFIX = "/mcp/"  # MCP over streamable HTTP (assistant/web/mcp_http.py): keys, rates and body size as /api/
OPENAI_PREFIX = "/v1/"  # guarded exactly like /api/; its errors are OpenAI's shape (openai_api.openai_error)
# The only routes a widget key may call: ask, send feedback (never read it), and read a cited article.
WIDGET_ROUTES = {("POST", "/api/ask"), ("POST", "/api/ask/stream"), ("POST", "/v1/chat/completions"),
                 ("POST", "/api/feedback")}
WIDGET_READS = "/api/articles/"  # GET /api/articles/{id}: the widget's reader
WIDGET_CONVERSATIONS = "/api/conversations"  # its visitor's own, on its site
VISITOR_HEADER = "x-assistant-visitor"  # the widget's random per-browser token: whose conversations on a site
UPLOAD_ROUTES = {("POST", "/api/articles")}
PAGE_UPLOAD_ROUTES = {("POST", "/gradio_api/upload"), ("POST", "/upload")}
# The page's reads that do work (an article from the index, conversations from the store) count like its events;
# its assets, /health and /ready do not (a page load fetches dozens of files).
PAGE_READS = ("/read/", "/conversations")
GRADIO_PREFIX = "/gradio_api/"  # the page's events: /call/{name}, /run/{name}, /queue/join
SIGN_IN_ROUTES = {("POST", "/sign-in")}
# The rate-limit bucket of everyone without an admin key: the chat page and every widget key share it per client
# address, so a visitor switching between them (widget keys are public) has one budget, not one per door.
VISITORS = "visitors"
# Gradio routes the page never uses that would work for anyone: its file route fetches any public link through this
# server (a proxy for anonymous callers), its proxy route does likewise, and deep_link writes a session's state to
# disk. Refused, under both of Gradio's prefixes.
_UNUSED_GRADIO = re.compile(r"^/(?:gradio_api/)?(?:file=[a-z][a-z0-9+.-]*:|proxy=|deep_link(?:/|$))", re.I)
KEY_HELP = "send an API key as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"
REALM = "article-assistant"
# Query parameters that would carry a key into access logs and browser history: refused, however spelled
# ("X-API-Key", "api_key", "%6Bey" are all "key"-like once decoded and stripped of case and separators).
KEY_PARAMS = {"key", "apikey", "xapikey", "token", "accesstoken", "auth", "authorization", "bearer", "password",
              "passwd", "secret"}
# Anything that looks like a credential is also kept out of the access log, refused or not.
_CREDENTIAL_WORDS = re.compile(r"key|token|auth|pass|pwd|secret|session|sig|cookie|credential")


def _param_name(raw: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unquote_plus(raw).lower())


def is_key_param(name: str) -> bool:
    return _param_name(name) in KEY_PARAMS


def redact_query(target: str, is_key: Callable[[str], bool] = lambda value: False) -> str:
    """A request target (path?query) with the value of every credential-like parameter replaced, and of any
    parameter whose value ``is_key`` (a configured key under an ordinary name: ``?k=…``)."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    parts = []
    for pair in query.split("&"):
        name, eq, value = pair.partition("=")
        secret = eq and (_CREDENTIAL_WORDS.search(_param_name(name)) or is_key(unquote_plus(value)))
        parts.append(f"{name}=[redacted]" if secret else pair)
    return f"{path}?{'&'.join(parts)}"


class BodyRefused(HTTPException):
    """Raised while the body streams in; FastAPI passes HTTPExceptions through to the JSON error handler."""


class BodyTooLarge(BodyRefused):
    def __init__(self, limit: int):
        super().__init__(413, f"request body is over the {limit:,}-byte limit")


class BodyTooSlow(BodyRefused):
    def __init__(self, seconds: float):
        super().__init__(408, f"request body did not arrive within {seconds:.0f} s")


class BodyCutOff(BodyRefused):
    def __init__(self):
        super().__init__(503, "the server is shutting down and the request body had not all arrived; send it again",
                         headers={"Retry-After": "5"})


def body_deadline_s(limit: int) -> float:
    """How long a body of at most ``limit`` bytes may take to arrive: 30 s, and a second more per 100 kB. A
    client that sends a byte now and then would otherwise hold its connection (and a file descriptor) for ever."""
    return 30 + limit / 100_000


def _receiving(receive: Receive, limit: int) -> Receive:
    """``receive``, raising BodyTooSlow while the body is still arriving past its deadline. Once the body is in,
    a wait is the app's (a stream listening for the client to leave) and has no deadline."""
    deadline_s = body_deadline_s(limit)
    ends: float | None = None
    done = False

    async def receive_in_time() -> Message:
        nonlocal ends, done
        if done:
            return await receive()
        if ends is None:
            ends = time.monotonic() + deadline_s
        try:
            message = await asyncio.wait_for(receive(), max(ends - time.monotonic(), 0.001))
        except TimeoutError:
            raise BodyTooSlow(deadline_s) from None
        except asyncio.CancelledError:
            # Only the server's graceful-shutdown timeout cancels a request (a client that leaves is a message):
            # a 503 the client can retry on, instead of a traceback and a 500.
            raise BodyCutOff() from None
        done = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    return receive_in_time


def presented_key(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key") or None


def bearer_challenge(message: str, *, presented: bool) -> str:
    """A 401's ``WWW-Authenticate`` as RFC 6750 spells it: the realm, ``error="invalid_token"`` when a key was
    presented (none when it was missing, as 3.1 asks), and the refusal's message as ``error_description``. MCP
    clients read this header first on a 401 (MCP's authorization spec), before any OAuth discovery."""
    said = re.sub(r"[^\x20-\x7e]", "", message).replace("\\", "/").replace('"', "'")  # a quoted-string, ASCII
    code = 'error="invalid_token", ' if presented else ""
    return f'Bearer realm="{REALM}", {code}error_description="{said}"'


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


# How a door's clients read an error: (path prefix, shape). The app registers each door's own (create_app);
# a path under none of them gets the API's ``{"error": message}``.
ErrorShape = Callable[..., JSONResponse]


def refusal(scope: Scope, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The guard's answer in the shape the caller's door speaks (OpenAI's under /v1/, JSON-RPC under /mcp/, ...)."""
    path = scope["path"] + "/"
    shapes: list[tuple[str, ErrorShape]] = scope.get("app_error_shapes", [])
    shaped = next((shape for prefix, shape in shapes if path.startswith(prefix)), error)
    return shaped(status, message, headers)


def client_address(scope: Scope) -> str:
    """The TCP peer, or what a trusted proxy said (uvicorn rewrote ``client`` for trusted proxies only)."""
    client = scope.get("client")
    return client[0] if client else "unknown"


def cookies_of(headers: Headers) -> dict[str, str]:
    jar = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is no sign-in
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


class Guard:
    def __init__(self, app: ASGIApp, *, keyring: KeyRing, settings: Settings, limits: RateLimits, access: PageAccess,
                 error_shapes: dict[str, ErrorShape] | None = None):
        self.app = app
        self.error_shapes = sorted((error_shapes or {}).items(), key=lambda item: -len(item[0]))  # longest first
        self.keyring = keyring
        self.limits = limits
        self.access = access
        self.own_origins = own_origins(settings)
        self.hosts = ServedHosts(settings)
        self.max_json = settings.api_max_json_bytes
        self.max_upload = settings.api_max_upload_bytes
        # CORS only on /api/ and /v1/, only for widget origins; Gradio keeps its own policy for the chat page.
        self.cors = CORSMiddleware(
            self.api,
            allow_origins=sorted(keyring.widget_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "X-Assistant-Visitor"],
            expose_headers=["Retry-After", "X-Total-Count"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not self.hosts.allows(Headers(scope=scope).get("host")):
            await send({"type": "websocket.close", "code": 1008})  # policy violation: not this server's name
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["app_error_shapes"] = self.error_shapes
        send = _framed_only_here(scope, send)  # every answer, the guard's own refusals too
        client = client_address(scope)
        host = Headers(scope=scope).get("host")
        if not self.hosts.allows(host):  # before any handler: a page whose name was rebound here gets nothing
            await refusal(scope, 421, self.hosts.refusal(host))(scope, receive, send)
            return
        if _secret_in_query(scope):
            message = f"keys are never accepted in the URL (it lands in logs); {KEY_HELP}"
            await refusal(scope, 400, message)(scope, receive, send)
            return
        is_api = (scope["path"] + "/").startswith((API_PREFIX, OPENAI_PREFIX, MCP_PREFIX))
        if _route(scope) in SIGN_IN_ROUTES:
            if await self._refused_keys_exhausted(scope, receive, send):
                return
            send = self._counting_refusals(send, client)
        if is_api:
            await self.cors(scope, receive, send)
        elif _UNUSED_GRADIO.match(scope["path"]):
            await error(404, "not served here: the chat page does not use this route")(scope, receive, send)
        elif scope["method"] not in ("GET", "HEAD", "OPTIONS"):  # POST, and DELETE of a conversation
            await self.page(scope, receive, send)
        elif scope["path"].startswith(PAGE_READS) and (wait := self.limits.request(VISITORS, client)):
            await self._too_many(scope, receive, send, wait, f"chat page rate-limited for {client}")
        else:  # the page itself, its assets, the widget's files, /health, /ready, /docs
            await self.app(scope, receive, send)

    # --- the HTTP API -----------------------------------------------------------
    async def _refused_keys_exhausted(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer 429 if this client has presented too many wrong keys: it waits before it may present more."""
        client = client_address(scope)
        wait = self.limits.failures_exhausted(client)
        if wait:
            await self._too_many(scope, receive, send, wait, f"too many refused keys from {client}")
        return bool(wait)

    async def api(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Inside CORS: preflights pass and the 429 carries CORS headers, so a widget says "too many", not "not allowed"
        if await self._refused_keys_exhausted(scope, receive, send):
            return
        headers = Headers(scope=scope)
        secret = presented_key(headers)
        key = self.keyring.lookup(secret)
        refusal = self._api_refusal(scope, headers, key, secret)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["key_role"] = key.role  # the API shows readers no server paths
        state["key_scope"] = key.scope  # the collections it may use (None: every one); every door applies it
        # Whose answers these are (the store keys them so): the key, and for a widget key the site it is on.
        state["key_owner"] = owner_of(key, headers, request_origin(scope, headers, self.own_origins))
        client, admin = client_address(scope), key.role == "admin"
        wait = self.limits.request(key.fingerprint if admin else VISITORS, client)
        if wait:
            why = f"key {key.fingerprint} rate-limited" if admin else f"visitor {client} rate-limited (widget keys and page)"
            await self._too_many(scope, receive, send, wait, why)
            return
        # Only files get the upload limit: the same route's JSON body (links) is held to the JSON one.
        uploading = _route(scope) in UPLOAD_ROUTES and headers.get("content-type", "").lower().startswith("multipart/")
        await self._sized(scope, receive, send, self.max_upload if uploading else self.max_json)

    def _api_refusal(self, scope: Scope, headers: Headers, key: ApiKey | None, secret: str | None) -> JSONResponse | None:
        """The error response for an API request that may not go on, or None."""
        client = client_address(scope)
        if key is None:
            if self.keyring.empty:
                message = "no API keys are configured on this server; set ASSISTANT_ADMIN_KEYS or ASSISTANT_KEYS_FILE"
            else:
                message = f"missing or unknown API key; {KEY_HELP}"
            if secret:  # a wrong key, not a missing one (a misconfigured page should not lock itself out)
                log.warning("refused unknown key %s from %s", fingerprint(secret), client)
                self.limits.failure(client)
            # MCP clients decide on OAuth from the challenge: theirs says why (the other doors keep plain Bearer)
            mcp = (scope["path"] + "/").startswith(MCP_PREFIX)
            challenge = bearer_challenge(message, presented=bool(secret)) if mcp else "Bearer"
            return refusal(scope, 401, message, {"WWW-Authenticate": challenge})
        if (scope["path"] + "/").startswith(MCP_PREFIX) and key.role != "admin":
            # Said before the origin check, and no refused key: an MCP client set up with a widget key would
            # otherwise be told its origin is wrong and, retrying, lock its address out for every key.
            return refusal(scope, 403, f"MCP over HTTP takes an admin key; this is a {key.role} key")
        origin = request_origin(scope, headers, self.own_origins)
        if not key.allows_origin(origin, self.own_origins):
            log.warning("key %s refused from origin %s (client %s)", key.fingerprint, origin, client)
            self.limits.failure(client)
            message = f"this key may not be used from {origin or 'outside a browser'}; origin not allowed"
            return refusal(scope, 403, message)
        if key.role == "widget" and not _widget_may(scope):
            return refusal(
                scope, 403, "a widget key may only ask questions, rate answers, read the articles they cite and its own conversations"
            )
        return None

    # --- the chat page's own endpoints -------------------------------------------------
    async def page(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = client_address(scope)
        foreign = cross_site(Headers(scope=scope), self.own_origins)
        if foreign:
            await error(403, foreign)(scope, receive, send)
            return
        wait = self.limits.request(VISITORS, client)
        if wait:
            await self._too_many(scope, receive, send, wait, f"chat page rate-limited for {client}")
            return
        if _route(scope) in PAGE_UPLOAD_ROUTES:
            if not self.access.may_change_articles(cookies_of(Headers(scope=scope))):
                await error(403, self.access.refusal())(scope, receive, send)
                return
            await self._sized(scope, receive, send, self.max_upload)
            return
        if scope["method"] == "POST" and scope["path"].startswith(GRADIO_PREFIX):
            await self._no_linked_files(scope, receive, send)
            return
        await self._sized(scope, receive, send, self.max_json)

    async def _no_linked_files(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An event's inputs name files by path; Gradio fetches a path that is a link before any handler runs (and
        so before the ingest handler's sign-in check). The page only ever sends files it uploaded: a link there is
        refused for every caller, whichever route (call, run, queue/join) carries it."""
        try:
            body = await whole_body(receive, self.max_json)
        except BodyRefused as exc:
            await refusal(scope, exc.status_code, exc.detail)(scope, receive, send)
            return
        if body is None:  # the client went away mid-body: nothing to answer
            return
        if _names_a_linked_file(body):
            message = "a file on the page is uploaded, never fetched from a link (add links with 'Add a link')"
            await refusal(scope, 400, message)(scope, receive, send)
            return
        await self.app(scope, replay(body), send)

    # --- shared ------------------------------------------------------------------
    async def _sized(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await refusal(scope, 413, BodyTooLarge(limit).detail)(scope, receive, send)
            return
        try:
            await self.app(scope, _counting(receive, limit), send)
        except BodyRefused as exc:  # raised mid-body where no JSON handler is below (the Gradio mount)
            await refusal(scope, exc.status_code, exc.detail)(scope, receive, send)

    async def _too_many(self, scope: Scope, receive: Receive, send: Send, wait: int, why: str) -> None:
        log.warning("%s; answered 429", why)
        answer = refusal(scope, 429, f"too many requests; retry in {wait} s", {"Retry-After": str(wait)})
        await answer(scope, receive, send)

    def _counting_refusals(self, send: Send, client: str) -> Send:
        async def send_counted(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.limits.failure(client)
            await send(message)

        return send_counted


def request_origin(scope: Scope, headers: Headers, own_origins: frozenset[str]) -> str | None:
    """The Origin header; browsers leave it off same-origin GETs (the /widget page's reads), so for those the
    server's own origin, when the browser says (Sec-Fetch-Site, which pages cannot set) it is same-origin."""
    origin = headers.get("origin")
    if origin is None and headers.get("sec-fetch-site") == "same-origin":
        own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()
        return own if own in own_origins else None
    return origin


def owner_of(key: ApiKey, headers: Headers, origin: str | None) -> str:
    """Whose answers and conversations a request's are: the key; for a widget key also its site and visitor."""
    owner = f"key:{key.fingerprint}"
    if key.role == "widget":
        owner += f"@{origin}"
    visitor = headers.get(VISITOR_HEADER, "")
    if 16 <= len(visitor) <= 128 and visitor.isascii():  # only a digest is kept: the token is the visitor's secret
        owner += "#" + hashlib.sha256(visitor.encode()).hexdigest()[:32]
    elif key.role == "widget":  # no token: the site's callers are one crowd, who keep no conversation (api.py)
        owner += ANONYMOUS
    return owner


ANONYMOUS = "#anonymous"


def is_anonymous(owner: str) -> bool:
    """A widget caller without a visitor token: it may ask and rate answers, never keep or read a conversation."""
    return owner.endswith(ANONYMOUS)


def site_of(owner: str) -> str:
    """The key and site part of an owner (every visitor of a widget's site shares it)."""
    return owner.split("#", 1)[0]


def _widget_may(scope: Scope) -> bool:
    method, path = _route(scope)
    if (method, path) in WIDGET_ROUTES:
        return True
    if method == "GET" and path.startswith(WIDGET_READS) and "/" not in path.removeprefix(WIDGET_READS):
        return True
    rest = path.removeprefix(WIDGET_CONVERSATIONS)
    return path.startswith(WIDGET_CONVERSATIONS) and (
        (method == "GET" and rest == "") or (method in ("GET", "DELETE") and rest.count("/") == 1 and len(rest) > 1)
    )


# The pages another site may frame: the widget (its keys say where); every other page only by this server itself.
FRAMEABLE = ("/widget", "/embed.js", "/embed.css")
FRAME_HEADERS = [(b"x-frame-options", b"SAMEORIGIN"), (b"content-security-policy", b"frame-ancestors 'self'")]
# On every response, framed or not (the widget's too), unless it sets its own.
COMMON_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"strict-origin-when-cross-origin")]


def _framed_only_here(scope: Scope, send: Send) -> Send:
    """Add the no-framing headers (unless the response sets its own policy) to everything but the widget, and
    nosniff and a referrer policy to everything."""
    wanted = COMMON_HEADERS + ([] if scope["path"].startswith(FRAMEABLE) else FRAME_HEADERS)

    async def send_unframed(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {name.lower() for name, _ in message.get("headers", [])}
            extra = [(n, v) for n, v in wanted if n not in names]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return send_unframed


def _route(scope: Scope) -> tuple[str, str]:
    return scope["method"], scope["path"].rstrip("/")


def _secret_in_query(scope: Scope) -> bool:
    query = scope.get("query_string", b"").decode("latin-1")
    return any(is_key_param(name) for name in (pair.partition("=")[0] for pair in query.split("&")) if name)


async def whole_body(receive: Receive, limit: int) -> bytes | None:
    """The request's body (None if the client disconnects first), or BodyTooLarge past ``limit`` bytes."""
    chunks, size, more = [], 0, True
    receive = _receiving(receive, limit)
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            raise BodyTooLarge(limit)
        more = message.get("more_body", False)
    return b"".join(chunks)


def replay(body: bytes, then: Receive | None = None) -> Receive:
    """A ``receive`` giving the body read already, then ``then``'s messages (the connection's own: a client that
    leaves is still seen), or a disconnect when there is none."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if sent:
            return await then() if then is not None else {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_again


def _names_a_linked_file(body: bytes) -> bool:
    """Whether a JSON body holds a Gradio FileData whose path is an http(s) link (what Gradio would fetch)."""
    try:
        data = json.loads(body)
    except ValueError:
        return False  # not JSON: Gradio refuses it itself
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            path = item.get("path")
            if isinstance(path, str) and re.match(r"\s*https?:", path, re.I):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _counting(receive: Receive, limit: int) -> Receive:
    """Count body bytes as they arrive: Content-Length may be absent (chunked) or wrong; and time them."""
    received = 0
    receive = _receiving(receive, limit)

    async def receive_counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return receive_counted
