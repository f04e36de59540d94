"""The chat page on a real server on 127.0.0.1: over HTTP with gradio_client, and in headless Chromium."""

from __future__ import annotations

import httpx
import pytest
from conftest import chromium_path
from gradio_client import Client
from servers import ServerThread

from assistant.web.app import create_app

HOSTILE = (
    "Guestbook vandal strikes\n\n"
    "The vandal typed <script>alert(1)</script> into the guestbook of the harbour museum on Monday.\n\n"
    'A second post, <img src=x onerror=alert(1)>, appeared in the harbour museum guestbook on Tuesday.\n'
)


@pytest.fixture(scope="module")
def chat_server(seeded_assistant):
    with ServerThread(create_app(seeded_assistant)) as server:
        yield server


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    from assistant.core import Assistant
    from assistant.settings import load_settings

    root = tmp_path_factory.mktemp("hostile")
    (root / "vandal.txt").write_text(HOSTILE)
    assistant = Assistant(load_settings(index_dir=root / "index"))
    assert assistant.ingest([root / "vandal.txt"]).ok
    with ServerThread(create_app(assistant)) as server:
        yield server


def _last_text(chat: list[dict]) -> str:
    content = chat[-1]["content"]
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content)
    return content


def test_page_and_health_are_served(chat_server):
    page = httpx.get(chat_server.url + "/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert httpx.get(chat_server.url + "/health").json() == {"status": "ok"}


def test_ask_over_http_with_gradio_client(chat_server):
    client = Client(chat_server.url, verbose=False)
    chat, sources, cleared = client.predict("What does JIG stand for?", [], api_name="/ask")
    assert "Joint Implementation Group" in _last_text(chat) and "[1]" in _last_text(chat)
    assert '<mark class="cited">' in sources and "Kerry in Moscow" in sources
    assert cleared == ""
    # The conversation state lives in the session: a follow-up resolves "he" to Kerry.
    chat, sources, _ = client.predict("Who will he meet on Friday?", chat, api_name="/ask")
    assert "Lavrov" in _last_text(chat)
    chat, sources, _ = client.predict("What is the capital of France?", chat, api_name="/ask")
    assert _last_text(chat) == "The articles don't say."
    assert "nothing is cited" in sources


def _browser(playwright):
    return playwright.chromium.launch(
        executable_path=chromium_path(),
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run", "--disable-quic"],
    )


def _ask_in_page(page, question: str) -> None:
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")


@pytest.mark.browser
def test_browser_shows_answer_and_citation(chat_server, artifacts_dir):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(chat_server.url + "/")
        _ask_in_page(page, "What does JIG stand for?")
        expect(page.locator("#chat")).to_contain_text("Joint Implementation Group", timeout=60_000)
        cited = page.locator("#sources mark.cited")
        expect(cited).to_contain_text("Joint Implementation Group", timeout=30_000)
        expect(page.locator("#sources")).to_contain_text("Kerry in Moscow")
        page.screenshot(path=str(artifacts_dir / "chat-page.png"), full_page=True)
        browser.close()


@pytest.mark.browser
def test_article_html_shows_as_text_and_never_runs(hostile_server, artifacts_dir):
    from playwright.sync_api import expect, sync_playwright

    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(hostile_server.url + "/")
        _ask_in_page(page, "What did the vandal type into the guestbook on Monday?")
        expect(page.locator("#chat")).to_contain_text("<script>alert(1)</script>", timeout=60_000)
        expect(page.locator("#sources")).to_contain_text("<script>alert(1)</script>", timeout=30_000)
        _ask_in_page(page, "What appeared in the guestbook on Tuesday?")
        expect(page.locator("#sources")).to_contain_text("onerror=alert(1)", timeout=60_000)
        page.locator("button", has_text="Articles").first.click()
        expect(page.locator("#articles")).to_contain_text("Guestbook vandal strikes")
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts_dir / "chat-page-hostile.png"), full_page=True)
        assert page.locator("#sources img").count() == 0 and page.locator("#chat img[src='x']").count() == 0
        browser.close()
    assert dialogs == []
