"""One server: FastAPI hosting the Gradio chat page at / (and the HTTP API beside it)."""

from __future__ import annotations

import logging

import gradio as gr
import uvicorn
from fastapi import FastAPI

from ..core import Assistant
from .api import add_error_handlers
from .api import router as api_router
from .auth import load_keyring
from .chat import build_chat_page
from .guard import ApiGuard
from .ready import Readiness
from .ready import router as ready_router
from .render import CSS
from .widget import widget_router

log = logging.getLogger("assistant.web")


def create_app(assistant: Assistant) -> FastAPI:
    app = FastAPI(title="Article assistant", docs_url="/docs", openapi_url="/openapi.json")
    app.state.assistant = assistant
    # The HTTP API and the widget (see README "Embed it in your site").
    app.state.keyring = keyring = load_keyring(assistant.settings)
    app.add_middleware(ApiGuard, keyring=keyring, settings=assistant.settings)
    add_error_handlers(app)
    app.include_router(api_router)
    app.include_router(ready_router)
    app.include_router(widget_router(keyring))
    # Warm up in the background: the server answers /health at once, /ready once loaded.
    app.state.readiness = Readiness(assistant)
    app.state.readiness.start()

    @app.get("/health", tags=["ops"])
    def health() -> dict:
        """The process is up."""
        return {"status": "ok"}

    page = build_chat_page(assistant)
    page.queue(default_concurrency_limit=4)
    return gr.mount_gradio_app(app, page, path="/", css=CSS, footer_links=[], ssr_mode=False)


def serve(assistant: Assistant) -> None:
    settings = assistant.settings
    app = create_app(assistant)
    base = f"http://{settings.host}:{settings.port}"
    print(f"serving the chat page on {base}/, the API docs on {base}/docs, the widget on {base}/embed.js", flush=True)
    if app.state.keyring.empty:
        print("no API keys configured: /api/ answers 401; see README 'Embed it in your site' to add some", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)
