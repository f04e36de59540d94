"""One server: FastAPI hosting the Gradio chat page at / (and the HTTP API beside it)."""

from __future__ import annotations

import logging

import gradio as gr
import uvicorn
from fastapi import FastAPI

from ..core import Assistant
from .chat import build_chat_page
from .render import CSS

log = logging.getLogger("assistant.web")


def create_app(assistant: Assistant) -> FastAPI:
    app = FastAPI(title="Article assistant", docs_url="/docs", openapi_url="/openapi.json")
    app.state.assistant = assistant

    @app.get("/health", tags=["ops"])
    def health() -> dict:
        """The process is up."""
        return {"status": "ok"}

    page = build_chat_page(assistant)
    page.queue(default_concurrency_limit=4)
    return gr.mount_gradio_app(app, page, path="/", css=CSS, footer_links=[], ssr_mode=False)


def serve(assistant: Assistant) -> None:
    settings = assistant.settings
    assistant.warm_up()
    app = create_app(assistant)
    print(f"serving the chat page on http://{settings.host}:{settings.port}/", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)
