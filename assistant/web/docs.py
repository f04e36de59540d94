"""/docs without the internet: Swagger UI's JavaScript, CSS and icon served by this server, not a CDN.

FastAPI's own /docs page loads Swagger UI from a CDN, so on a machine offline (or behind a strict proxy) it
is a blank page. The assets come from the PyPI package ``fastapi-offline`` (its ``static/`` folder: Swagger UI
5.x's ``swagger-ui-bundle.js`` and ``swagger-ui.css``, which render FastAPI's OpenAPI 3.1; the older
``swagger-ui-bundle`` package ships Swagger UI 4.15, which cannot). Only its files are used, not its app factory.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse
from starlette.routing import BaseRoute, Route

from ..errors import ConfigError

ASSETS_PACKAGE = "fastapi_offline"
# files of the package's static/ folder, served under <docs>/assets/ by the same names (not its ReDoc bundle)
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")
ASSET_CACHE = "public, max-age=86400"


def assets_dir() -> Path:
    """The folder holding Swagger UI's files (ConfigError naming the package when it is missing)."""
    try:
        folder = Path(str(files(ASSETS_PACKAGE) / "static"))
    except ModuleNotFoundError as exc:
        raise ConfigError(f"/docs needs Swagger UI's files from the package {ASSETS_PACKAGE!r}: "
                           "pip install fastapi-offline") from exc
    missing = [name for name in ASSETS if not (folder / name).is_file()]
    if missing:
        raise ConfigError(f"{ASSETS_PACKAGE} at {folder} lacks {', '.join(missing)}; reinstall fastapi-offline")
    return folder


def offline_docs(app: FastAPI) -> None:
    """Serve /docs (at ``app.docs_url``, else /docs) with Swagger UI's assets from this server.

    It replaces the CDN page FastAPI registered for ``docs_url`` (so ``FastAPI(docs_url=None)`` is not needed),
    and its routes go first, so a catch-all mounted before or after it (the chat page at /) does not hide them.
    Calling it again replaces its own routes. With ``openapi_url=None`` there is nothing to show: it does nothing.
    """
    if not app.openapi_url:
        return
    folder = assets_dir()
    docs_url = app.docs_url or "/docs"
    assets_url = docs_url.rstrip("/") + "/assets"
    oauth2_url = app.swagger_ui_oauth2_redirect_url

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_swagger_ui_html(
            openapi_url=root + app.openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{assets_url}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{assets_url}/swagger-ui.css",
            swagger_favicon_url=f"{root}{assets_url}/favicon.png",
            oauth2_redirect_url=root + oauth2_url if oauth2_url else None,
            init_oauth=app.swagger_ui_init_oauth,
            # no online validator badge: it would fetch an image from validator.swagger.io
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        )
        # FastAPI's page names no language; a screen reader then guesses how to pronounce it.
        return HTMLResponse(page.body.decode().replace("<html>", '<html lang="en">', 1))

    def asset(name: str):
        path = folder / name

        async def serve(request: Request) -> FileResponse:
            return FileResponse(path, headers={"Cache-Control": ASSET_CACHE})

        return serve

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    routes: list[BaseRoute] = [Route(docs_url, swagger_ui, methods=["GET"], include_in_schema=False)]
    routes += [Route(f"{assets_url}/{name}", asset(name), methods=["GET"], include_in_schema=False) for name in ASSETS]
    if oauth2_url:
        routes.append(Route(oauth2_url, oauth2_redirect, methods=["GET"], include_in_schema=False))
    taken = {route.path for route in routes}
    kept = [route for route in app.router.routes if getattr(route, "path", None) not in taken]
    app.router.routes[:] = routes + kept
