"""One server: FastAPI hosting the Gradio chat page at / (and the HTTP API beside it)."""

from __future__ import annotations

import copy
import logging
import logging.config
import socket
import weakref
from contextlib import asynccontextmanager
from pathlib import Path

import gradio as gr
import uvicorn
from fastapi import FastAPI
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..core import Assistant
from ..errors import ConfigError
from ..settings import Settings
from ..terminal import PrintableLogArgs
from .api import add_error_handlers, json_errors
from .api import router as api_router
from .article_page import ArticleLinks, article_page_router, link_secret
from .auth import KeyRing, load_keyring
from .browser import BrowserSessions
from .chat import build_chat_page
from .conversations_api import conversations_router
from .docs import offline_docs
from .feed_poller import FeedPoller
from .guard import MCP_PREFIX, OPENAI_PREFIX, Guard, redact_query
from .limits import RateLimits
from .mcp_http import jsonrpc_error, mount_mcp
from .openai_api import openai_error
from .openai_api import router as openai_router
from .ready import Readiness
from .ready import router as ready_router
from .render import CSS
from .session import PageAccess, exposure_problem, session_router
from .uploads import IngestJobs, release_upload_area, use_upload_area
from .widget import widget_router

log = logging.getLogger("assistant.web")
PAGE_JS = (Path(__file__).parent / "static" / "page.js").read_text(encoding="utf-8")  # opens citations in the reader


def create_app(assistant: Assistant) -> FastAPI:
    settings = assistant.settings
    use_upload_area()  # before the page mounts: Gradio reads its upload folder from it

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.feed_poller.start()  # polls the feeds whose time has come (assistant feeds add)
        yield
        app.state.feed_poller.stop()
        app.state.jobs.stop()
        app.state.readiness.stop()
        release_upload_area()

    app = FastAPI(title="Article assistant", docs_url="/docs", openapi_url="/openapi.json", lifespan=lifespan)
    offline_docs(app)  # /docs with Swagger UI's assets from this server, not a CDN
    app.state.assistant = assistant
    app.state.jobs = IngestJobs(assistant)
    app.state.feed_poller = FeedPoller(assistant)
    # One gate for every surface (see README "Security").
    app.state.keyring = keyring = load_keyring(settings)
    _KEYRINGS.add(keyring)
    app.state.access = access = PageAccess(keyring, settings, lambda: assistant.store.sign_outs)
    # Each door refuses in the shape its clients read: OpenAI's under /v1/, JSON-RPC under /mcp/, else {"error"}.
    shapes = {OPENAI_PREFIX: openai_error, MCP_PREFIX: jsonrpc_error}
    app.add_middleware(Guard, keyring=keyring, settings=settings, limits=RateLimits(settings), access=access,
                       error_shapes=shapes)
    # Outside it: the page's first response names this browser's session (whose conversations are whose).
    app.add_middleware(BrowserSessions, max_age_s=int((settings.conversation_days or 400) * 86400),
                       settings=settings)
    # The widget's script, article lists and answers, compressed for clients that accept it (the chat page's
    # assets are Gradio's, which compresses them itself; streams, text/event-stream, are never held back).
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(HeadLikeGet, prefixes=("/api/", OPENAI_PREFIX))  # outermost: a HEAD passes every check a GET does
    add_error_handlers(app)
    json_errors(app)
    # /mcp: the MCP tools over streamable HTTP, guarded like /api/; ingest there takes links, never server paths.
    mount_mcp(app, assistant=assistant, keyring=keyring)
    app.include_router(api_router)
    app.include_router(openai_router)  # /v1/: OpenAI-compatible chat completions
    # /read/{id}: the article page the links in /v1's citations open (signed links: a person has no key)
    app.state.article_links = links = ArticleLinks(link_secret(settings), settings.article_link_days * 86_400 or None)
    app.include_router(article_page_router(links))
    app.include_router(ready_router)
    app.include_router(widget_router(keyring))
    app.include_router(session_router(access))
    app.include_router(conversations_router())  # the page's conversations, for the browser holding them
    app.state.readiness = Readiness(assistant)

    @app.get("/health", tags=["ops"])
    def health() -> dict:
        """The process is up."""
        return {"status": "ok"}

    app.add_api_route("/health", health, methods=["HEAD"], include_in_schema=False)  # uptime checks send HEAD

    page = build_chat_page(assistant, access)
    page.queue(default_concurrency_limit=4)
    mounted = gr.mount_gradio_app(
        app, page, path="/", css=CSS, js=PAGE_JS, footer_links=[], ssr_mode=False,
        max_file_size=settings.max_file_bytes,
        # No copy of the questions in the browser's storage (Delete must leave none), and an unexpected error's
        # text (a library's, naming internals) is not sent to the caller: the handlers say what went wrong.
        run_history=False, show_error=False,
    )
    # Gradio checks that a file named in a request was uploaded (not any path on the server) only once it
    # believes it was launched; a mounted page is never launched, so say so, or any server file is readable.
    page.has_launched = True
    # Warm up in the background: the server answers /health at once, /ready once loaded. Started last: a
    # start-up that fails (a database that cannot be opened) must not leave it loading models in native code
    # while the process exits (the C++ runtime aborted it: exit 134 after the one-line error).
    app.state.readiness.start()
    return mounted


class HeadLikeGet:
    """HEAD on the API's GET routes answers as GET would, headers only (RFC 9110 §9.3.2): FastAPI's routes take
    only the methods they name, and a HEAD fell through to the chat page's 404."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...]):
        self.app, self.prefixes = app, prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or not (scope["path"] + "/").startswith(self.prefixes):
            return await self.app(scope, receive, send)

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body"):
                    return
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET", "asked_method": "HEAD"}, receive, headers_only)  # 405 names HEAD


# The key rings of this process's apps: the log filter, which logging builds on its own, checks query values
# against them (a digest lookup per value), so a key under any parameter name stays out of the log.
_KEYRINGS: weakref.WeakSet[KeyRing] = weakref.WeakSet()


def _a_key(value: str) -> bool:
    return bool(value) and any(ring.lookup(value) for ring in list(_KEYRINGS))


class _RedactSecrets(logging.Filter):
    """Log lines never carry a credential that someone put in a URL (a request's, a feed's), whatever its parameter
    is called."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_query(a, _a_key) if isinstance(a, str) and "?" in a else a for a in record.args)
        return True


def log_config(level: str) -> dict:
    """uvicorn's logging with the time on every line, and the assistant's own loggers (uploads, removals, feed
    polls, migrations, refused keys) through the same stream at ``level``: without a handler of their own, only
    their warnings showed, bare."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    for formatter in config["formatters"].values():
        formatter["fmt"] = "%(asctime)s " + formatter["fmt"]
    config["formatters"]["assistant"] = {**config["formatters"]["default"],
                                         "fmt": "%(asctime)s %(levelprefix)s %(name)s: %(message)s"}
    config["filters"] = {"redact": {"()": _RedactSecrets}}  # a request's URL, a feed's link: either may carry ?token=
    config["filters"]["printable"] = {"()": PrintableLogArgs}
    config["handlers"]["access"]["filters"] = ["redact", "printable"]
    config["handlers"]["assistant"] = {**config["handlers"]["default"], "formatter": "assistant",
                                       "filters": ["redact", "printable"]}
    config["loggers"]["assistant"] = {"handlers": ["assistant"], "level": level.upper(), "propagate": False}
    return config


def configure_logging(level: str) -> None:
    """:func:`log_config` now, before the index opens (a migration logs), as uvicorn applies it again later."""
    logging.config.dictConfig(log_config(level))


def check_can_serve(settings: Settings) -> None:
    """ConfigError when a server with these settings must not start (listening beyond this machine with uploads
    open and no admin key; a host that cannot be listened on): asked before anything is written, such as
    `serve --seed`'s ingest."""
    problem = exposure_problem(settings, load_keyring(settings))
    if problem:
        raise ConfigError(problem)
    try:  # uvicorn aborts the whole process on a name it cannot resolve
        socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConfigError(f"host: {settings.host!r} cannot be listened on: {exc.strerror or exc}") from None


def serve(assistant: Assistant) -> None:
    settings = assistant.settings
    check_can_serve(settings)
    app = create_app(assistant)
    base = f"http://{settings.host}:{settings.port}"
    print(f"serving the chat page on {base}/, the API docs on {base}/docs, the widget on {base}/embed.js", flush=True)
    if app.state.keyring.empty:
        print("no API keys configured: /api/ answers 401; set ASSISTANT_ADMIN_KEYS or ASSISTANT_KEYS_FILE "
              "(README 'Embedding the widget')", flush=True)
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    # Forwarded-for headers name the client only when they come from a proxy the settings trust.
    # On SIGTERM, requests under way get a few seconds; an open chat page's event stream would hold the server
    # (and its claim on the index) for as long as the tab stays open.
    uvicorn.run(
        app, host=settings.host, port=settings.port, log_level=settings.log_level, log_config=log_config(settings.log_level),
        proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None, timeout_graceful_shutdown=5,
    )
