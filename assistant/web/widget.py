"""The embeddable widget: /embed.js (+ /embed.css) for any page, /widget for an <iframe>."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from .auth import KeyRing

STATIC = Path(__file__).parent / "static"
# Revalidate every time (cheap: ETag), so a site picks up a new widget at once.
NO_CACHE = {"Cache-Control": "no-cache"}


def widget_router(keyring: KeyRing) -> APIRouter:
    router = APIRouter(tags=["widget"])
    # Only the widget origins may frame /widget; its API calls are same-origin, so this is what binds it.
    frame_ancestors = " ".join(["'self'", *sorted(keyring.widget_origins)])

    @router.api_route("/embed.js", methods=["GET", "HEAD"], include_in_schema=False)
    def embed_js() -> FileResponse:
        return FileResponse(STATIC / "embed.js", media_type="text/javascript", headers=NO_CACHE)

    @router.api_route("/embed.css", methods=["GET", "HEAD"], include_in_schema=False)
    def embed_css() -> FileResponse:
        # Read by embed.js with fetch on other sites' pages (a constructed stylesheet passes their CSP's
        # style-src): public, like the file itself, so any origin may read it.
        return FileResponse(STATIC / "embed.css", media_type="text/css",
                            headers={**NO_CACHE, "Access-Control-Allow-Origin": "*"})

    @router.api_route("/widget", methods=["GET", "HEAD"], include_in_schema=False)
    def widget_page() -> FileResponse:
        headers = {**NO_CACHE, "Content-Security-Policy": f"frame-ancestors {frame_ancestors}"}
        return FileResponse(STATIC / "widget.html", media_type="text/html", headers=headers)

    return router
