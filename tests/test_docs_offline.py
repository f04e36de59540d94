"""/docs works offline: Swagger UI's assets come from this server (assistant/web/docs.py), never from a CDN."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from servers import ServerThread
from starlette.responses import PlainTextResponse

from assistant.web.app import create_app
from assistant.web.docs import ASSETS, assets_dir, offline_docs

EXTERNAL_URL = re.compile(r"""(?:https?:)?//[^\s"'<>]+""")  # also protocol-relative //host/...


def small_app(**kwargs) -> FastAPI:
    app = FastAPI(title="Small", **kwargs)

    @app.get("/api/hello", tags=["demo"])
    def hello() -> dict:
        return {"hello": "world"}

    return app


def catch_all(app: FastAPI) -> None:
    """What the chat page does: a mount at / that would answer every path it reaches."""
    app.mount("/", PlainTextResponse("the chat page"))


def assert_offline_page(client: TestClient, docs: str = "/docs") -> str:
    page = client.get(docs)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert 'id="swagger-ui"' in html and "SwaggerUIBundle(" in html
    assert EXTERNAL_URL.findall(html) == [], "the page names no URL of another host"
    assert '"validatorUrl": null' in html
    for name in ASSETS:
        assert f"{docs}/assets/{name}" in html
        asset = client.get(f"{docs}/assets/{name}")
        assert asset.status_code == 200 and asset.content == (assets_dir() / name).read_bytes()
    assert client.get(f"{docs}/assets/swagger-ui-bundle.js").headers["content-type"].startswith(
        ("application/javascript", "text/javascript"))
    assert client.get(f"{docs}/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    return html


@pytest.mark.fast
def test_offline_docs_on_a_small_app():
    app = small_app()
    offline_docs(app)
    catch_all(app)  # mounted after: /docs still wins
    client = TestClient(app)
    assert_offline_page(client)
    assert client.get("/elsewhere").text == "the chat page"
    # The document Swagger UI reads lists the API and none of the docs' own routes.
    paths = client.get("/openapi.json").json()["paths"]
    assert list(paths) == ["/api/hello"]
    assert client.get("/docs/oauth2-redirect").status_code == 200


@pytest.mark.fast
def test_offline_docs_replaces_the_cdn_page_in_any_order_and_once():
    app = small_app()  # FastAPI registered its CDN page at /docs already
    catch_all(app)  # and a catch-all came before this call
    offline_docs(app)
    offline_docs(app)  # again: its own routes are replaced, not doubled
    assert [getattr(r, "path", None) for r in app.router.routes].count("/docs") == 1
    assert_offline_page(TestClient(app))


@pytest.mark.fast
def test_offline_docs_options():
    app = small_app(docs_url=None)  # no CDN page at all: /docs is served anyway
    offline_docs(app)
    assert_offline_page(TestClient(app))
    elsewhere = small_app(docs_url="/api-docs")
    offline_docs(elsewhere)
    assert_offline_page(TestClient(elsewhere), "/api-docs")
    hidden = small_app(openapi_url=None)  # nothing to document: no /docs
    offline_docs(hidden)
    assert TestClient(hidden).get("/docs").status_code == 404


@pytest.mark.fast
def test_assets_are_swagger_ui_5():
    # FastAPI writes OpenAPI 3.1, which Swagger UI renders from 5.0 on (swagger-ui-bundle 1.1.0 ships 4.15.5).
    bundle = (assets_dir() / "swagger-ui-bundle.js").read_text(encoding="utf-8")
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.(\d+)\.(\d+)"', bundle)
    assert version and int(version.group(1)) >= 5


@pytest.fixture(scope="module")
def docs_server(seeded_assistant):
    app = create_app(seeded_assistant)
    offline_docs(app)  # whether or not create_app wires it already
    with ServerThread(app) as server:
        yield server


def test_the_real_app_serves_offline_docs(docs_server):
    with httpx.Client(base_url=docs_server.url) as client:
        page = client.get("/docs")
        assert page.status_code == 200 and EXTERNAL_URL.findall(page.text) == []
        assert "/docs/assets/swagger-ui-bundle.js" in page.text
        assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
        assert "/api/ask" in client.get("/openapi.json").json()["paths"]


@pytest.mark.browser
def test_browser_renders_docs_with_the_internet_blocked(docs_server, artifacts_dir):
    from playwright.sync_api import expect, sync_playwright
    from test_chat_page import _browser

    allowed, blocked = [], []

    def only_this_server(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            allowed.append(route.request.url)
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = _browser(p)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route("**/*", only_this_server)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(docs_server.url + "/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Article assistant", timeout=30_000)
        ask = page.locator(".opblock-post .opblock-summary-path", has_text=re.compile(r"^/api/ask$"))
        expect(ask).to_have_count(1, timeout=30_000)
        assert page.locator(".swagger-ui .opblock").count() >= 5
        ask.click()  # the operation opens: Swagger UI is interactive, not just painted
        expect(page.locator(".opblock.is-open .try-out__btn")).to_be_visible(timeout=10_000)
        page.screenshot(path=str(artifacts_dir / "docs-offline.png"), full_page=False)
        context.close()
        browser.close()
    assert blocked == [], f"the page asked for other hosts: {blocked}"
    assert any(url.endswith("/docs/assets/swagger-ui-bundle.js") for url in allowed)
    assert any(url.endswith("/openapi.json") for url in allowed)
    assert errors == []
