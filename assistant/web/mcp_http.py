"""The MCP tools over streamable HTTP, mounted on the server at /mcp behind the same guard as /api/ (see mcp_server.py).

A refused key is a 401 whose JSON-RPC error carries the server's message and the status (what the SDK clients
raise), with ``WWW-Authenticate: Bearer realm=..., error="invalid_token", error_description=...`` (RFC 6750; no
``error`` when no key came at all). This server has no OAuth: the discovery documents an MCP client looks for
after a 401 (``/.well-known/oauth-protected-resource``, ``/.well-known/oauth-authorization-server``,
``/.well-known/openid-configuration``, with or without a path after them) and the dynamic client registration it
falls back to (``/register``) answer at once with a JSON 404 saying to send a key, never the chat page or a
redirect. A client that stops at the discovery shows the 401's message; one that goes on to register (the MCP
Inspector 2.12 run in a terminal) shows this 404's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any

from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .guard import KEY_HELP, BodyRefused, bearer_challenge, presented_key, replay, whole_body
from .mcp_server import build_server

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..core import Assistant
    from .auth import KeyRing

log = logging.getLogger("assistant.mcp")


# --- streamable HTTP ---------------------------------------------------------------------------------------

# Where an MCP client looks for OAuth after a 401 (RFC 9728, RFC 8414, OpenID discovery; each also with the
# resource's or issuer's path after it), and the registration it falls back to when it finds none.
OAUTH_DISCOVERY = ("/.well-known/oauth-protected-resource", "/.well-known/oauth-authorization-server",
                   "/.well-known/openid-configuration")
OAUTH_REGISTRATION = "/register"
NO_OAUTH = f"this server has no OAuth: MCP over HTTP takes an API key; {KEY_HELP}"


def jsonrpc_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A refusal as MCP clients read it (a JSON-RPC error; the SDK's client raises its message, which ends with
    the HTTP status it would otherwise not show; ``data.status`` has it too): for doors in front of the endpoint,
    such as the guard, too."""
    error = {"code": -32600 if status == 405 else -32001, "message": f"{message} (HTTP {status})",
             "data": {"status": status}}
    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": error}, status_code=status, headers=headers)


class NoOAuth:
    """The 404 of the OAuth discovery documents and registration, for every method: JSON, at once, readable from
    any origin (a browser-based client reads the 404 rather than a CORS failure). An ASGI app, so that Starlette
    routes every method to it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = JSONResponse({"error": NO_OAUTH}, status_code=404, headers={"Access-Control-Allow-Origin": "*"})
        await answer(scope, receive, send)


class McpHttp:
    """The ASGI endpoint of MCP's streamable HTTP transport (stateless, JSON responses), one server per role.

    The role of a request is the one the guard recorded (``scope["state"]["key_role"]``); mounted without the
    guard, it looks the key up itself and admits admin keys only. Enter :meth:`running` in the app's lifespan
    (:func:`mount_mcp` does) before it serves.
    """

    def __init__(self, assistant: Assistant, keyring: KeyRing):
        self.keyring = keyring
        self.max_body = assistant.settings.api_max_json_bytes
        self.servers = {
            "admin": build_server(assistant, admin=True, remote=True),
            "reader": build_server(assistant, admin=False, remote=True),
        }
        self._live = False

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the servers' session managers (new ones each time, so an app's lifespan may run again)."""
        async with AsyncExitStack() as stack:
            for server in self.servers.values():
                server.streamable_http_app(
                    stateless_http=True,
                    json_response=True,
                    max_request_body_size=self.max_body,
                    # Host/Origin checks are for keyless localhost servers; here every request needs a key, and
                    # behind a proxy the Host is the public name.
                    transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
                )
                await stack.enter_async_context(server.session_manager.run())
            self._live = True
            try:
                yield
            finally:
                self._live = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        role = self._role(scope)
        if role is None:
            return await self._refuse(scope, receive, send)
        if scope["method"] != "POST":  # stateless: no GET stream, no session to DELETE
            answer = jsonrpc_error(405, "this MCP endpoint takes POST only (stateless, JSON responses)",
                                    {"Allow": "POST"})
            return await answer(scope, receive, send)
        if not self._live:
            return await jsonrpc_error(503, "the MCP endpoint is not running (app lifespan)")(scope, receive, send)
        body = await self._checked_body(scope, receive, send)
        if body is None:
            return
        server = self.servers["admin" if role == "admin" else "reader"]
        await server.session_manager.handle_request(scope, replay(body, then=receive), send)

    async def _checked_body(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The request's one JSON-RPC message, or None once a refusal went back: for these the SDK answers a
        plain-text 400 or pydantic's 19-line dump of the input, naming no field."""
        media = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            said = f"Content-Type: must be application/json (got {media or 'none'!r})"
            await jsonrpc_error(415, said)(scope, receive, send)
            return None
        try:
            body = await whole_body(receive, self.max_body)
        except BodyRefused as exc:
            await jsonrpc_error(exc.status_code, exc.detail)(scope, receive, send)
            return None
        problem = None if body is None else envelope_problem(body)
        if problem is not None:
            await jsonrpc_error(400, problem)(scope, receive, send)
            return None
        return body

    def _role(self, scope: Scope) -> str | None:
        """The guard's verdict when it ran; otherwise an admin key, or nothing."""
        state = scope.setdefault("state", {})
        if state.get("key_role"):
            return state["key_role"]
        key = self.keyring.lookup(presented_key(Headers(scope=scope)))
        if key is None or key.role != "admin":
            return None
        state["key_role"] = key.role
        state["key_scope"] = key.scope
        return key.role

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self.keyring.lookup(presented_key(Headers(scope=scope)))
        if key is not None:
            answer = jsonrpc_error(403, f"MCP over HTTP takes an admin key; this is a {key.role} key")
        else:
            message = f"missing or unknown API key; {KEY_HELP}"
            challenge = bearer_challenge(message, presented=presented_key(Headers(scope=scope)) is not None)
            answer = jsonrpc_error(401, message, {"WWW-Authenticate": challenge})
        await answer(scope, receive, send)


def envelope_problem(body: bytes) -> str | None:
    """What is wrong with a request body as one JSON-RPC 2.0 message (batches are not taken), naming the field."""
    try:
        message = json.loads(body)
    except ValueError as exc:  # json names the line and column; a body that is not UTF-8 is one too
        return f"body: not JSON ({exc})"
    if isinstance(message, list):
        return "body: one JSON-RPC message per request (batches are not taken)"
    if not isinstance(message, dict):
        return "body: must be a JSON-RPC message (an object)"
    if message.get("jsonrpc") != "2.0":
        return 'jsonrpc: must be "2.0"'
    if "method" not in message:  # a client's response to the server: the SDK reads it
        return None if "id" in message and ("result" in message or "error" in message) else "method: required"
    if not isinstance(message["method"], str):
        return "method: must be a string"
    params = message.get("params", {})
    if not isinstance(params, dict):
        return "params: must be an object"
    if not isinstance(params.get("arguments", {}), dict):
        return "params.arguments: must be an object"
    return None


class _NoSuchRoute:
    """Below the endpoint, a JSON-RPC 404 naming it (FastAPI's own would answer ``{"detail": "Not Found"}``)."""

    def __init__(self, path: str):
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        said = f"no such route: {scope['method']} {scope['path']}; the MCP endpoint is POST {self.path}/"
        await jsonrpc_error(404, said)(scope, receive, send)


def mount_mcp(
    app: FastAPI,
    *,
    path: str = "/mcp",
    assistant: Assistant | None = None,
    keyring: KeyRing | None = None,
) -> McpHttp:
    """Serve the tools over streamable HTTP at ``path`` of ``app`` (and ``path/``, as clients are often given it),
    before any catch-all mount such as the chat page at ``/``, and run them in the app's lifespan; answer the OAuth
    discovery and registration URLs with a 404 (:class:`NoOAuth`). Defaults: ``app.state.assistant`` and
    ``app.state.keyring``.

    The guard covers ``path`` once its prefix is among the guard's API prefixes (keys, rate per key and client,
    JSON body size); without it, the endpoint still refuses anything but an admin key, with no rate limit.
    """
    endpoint = McpHttp(assistant or app.state.assistant, keyring or app.state.keyring)
    path = path.rstrip("/")
    routes = [Route(path, endpoint=endpoint, include_in_schema=False),
              Route(path + "/", endpoint=endpoint, include_in_schema=False)]
    no_oauth = NoOAuth()
    for document in OAUTH_DISCOVERY:
        routes += [Route(document, endpoint=no_oauth, include_in_schema=False),
                   Route(document + "/{rest:path}", endpoint=no_oauth, include_in_schema=False)]
    routes.append(Route(OAUTH_REGISTRATION, endpoint=no_oauth, include_in_schema=False))
    routes.append(Route(path + "/{rest:path}", endpoint=_NoSuchRoute(path), include_in_schema=False))
    app.router.routes[:0] = routes
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi_app: Any) -> AsyncIterator[Any]:
        async with endpoint.running(), outer(asgi_app) as state:
            yield state

    app.router.lifespan_context = lifespan
    return endpoint
