"""The chat page on a real server on 127.0.0.1: over HTTP with gradio_client, and in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import axe_playwright_python
import httpx
import pytest
from conftest import SEED_ARTICLE, chromium_path
from gradio_client import Client
from gradio_client.exceptions import AppError
from servers import CLI, ServerThread

from assistant.web.app import create_app

AXE_JS = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()  # installed by `make test`
HOSTILE = (
    "Guestbook vandal strikes\n\n"
    "The vandal typed <script>alert(1)</script> into the guestbook of the harbour museum on Monday.\n\n"
    'A second post, <img src=x onerror=alert(1)>, appeared in the harbour museum guestbook on Tuesday.\n'
)


@pytest.fixture(scope="module")
def chat_server(seeded_assistant):
    # These tests load the page and ask often from one address; the page's rate limit is tested in test_security.
    from test_api import keyed

    with ServerThread(create_app(keyed(seeded_assistant, api_rate_per_minute=1000))) as server:
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
    for path in ("/", "/health", "/ready", "/embed.js", "/embed.css", "/widget"):  # uptime checks send HEAD
        head = httpx.head(chat_server.url + path)
        assert head.status_code == 200 or (path, head.status_code) == ("/ready", 503), path  # 503: still warming up
        assert head.content == b"", path
        assert head.headers["content-type"] == httpx.get(chat_server.url + path).headers["content-type"], path


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


def test_a_page_whose_server_restarted_is_told_to_reload_and_a_refused_question_stays_in_its_box(chat_server):
    """The page's state is per session on the server: a page left open across a restart sends a chat the new
    session knows nothing of. Asked again it must say so, not drop the answer or rate another answer."""
    first = Client(chat_server.url, verbose=False)
    chat, _, _ = first.predict("What does JIG stand for?", [], api_name="/ask")
    restarted = Client(chat_server.url, verbose=False)  # a new session with the old page's chat
    with pytest.raises(AppError, match="reload the page"):
        restarted.predict("Who will he meet on Friday?", chat, api_name="/ask")
    too_long = "Why " * 600
    chat, _, box = first.predict(too_long, chat, api_name="/ask")
    assert "the limit is 2,000" in _last_text(chat) and box.strip() == too_long.strip()  # kept, to shorten
    chat, _, _ = first.predict("Who will he meet on Friday?", chat, api_name="/ask")  # the session goes on
    assert "Lavrov" in _last_text(chat)


def _browser(playwright):
    return playwright.chromium.launch(
        executable_path=chromium_path(),
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
              "--disable-sync", "--no-first-run", "--disable-quic"],
    )


def _ask_in_page(page, question: str) -> None:
    # Gradio ignores a submit while the same event is still running (trigger_mode "once"): wait, as a reader
    # does, until no component shows Gradio's pending/generating state (the page's load event included).
    page.wait_for_function("() => document.querySelector('.pending, .generating') === null", timeout=60_000)
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


# --- citations you can open, conversations that stay, feedback, the truth about an empty index -----------------

OVERVIEW = "Summarize the article about Kerry's visit to Moscow."
JIG = "What does JIG stand for?"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = _browser(p)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # a browser of its own: its own session
    page = context.new_page()
    yield page
    context.close()


def _bot(page, i: int):
    return page.locator("#chat [data-testid=bot]").nth(i)


@pytest.mark.browser
def test_a_citation_of_an_earlier_answer_opens_the_reader_at_its_passage(chat_server, seeded_assistant, page,
                                                                         artifacts_dir):
    from playwright.sync_api import expect

    cited = seeded_assistant.ask(OVERVIEW).citations[1]  # what [2] of the overview cites
    page.goto(chat_server.url + "/")
    _ask_in_page(page, OVERVIEW)
    expect(_bot(page, 0).locator("a.cite", has_text="[3]")).to_be_visible(timeout=60_000)
    _ask_in_page(page, JIG)
    expect(_bot(page, 1)).to_contain_text("Joint Implementation Group", timeout=60_000)
    expect(page.locator("#sources .citation")).to_have_count(1)  # the latest answer's one passage

    assert "<a" not in _bot(page, 0).get_attribute("aria-label")  # named by its text, not its markup
    _bot(page, 0).locator("a.cite", has_text="[2]").click()  # [2] of the earlier answer
    mark = page.locator("#reader mark.cited")
    expect(mark).to_have_text(cited.quote, timeout=30_000)
    expect(mark).to_be_in_viewport()  # scrolled to it
    expect(page.locator("#reader .reader-title")).to_have_text(cited.title)
    expect(page.locator("#reader .reader-meta")).to_contain_text("Published 2016-07-14")
    text = page.locator("#reader .reader-text").inner_text()
    assert len(text) > 2000 and text.index(cited.quote) > 0  # the whole article, not the passage
    # Every answer keeps its own citations: the earlier answer's three are shown again, [2] selected.
    expect(page.locator("#sources .citation")).to_have_count(3)
    expect(page.locator("#sources .citation.selected")).to_have_attribute("data-n", "2")
    page.screenshot(path=str(artifacts_dir / "chat-reader.png"), full_page=True)

    # By keyboard: [1] of the later answer, focused and opened with Enter.
    link = _bot(page, 1).locator("a.cite", has_text="[1]")
    link.focus()
    page.keyboard.press("Enter")
    expect(mark).to_contain_text('"Joint Implementation Group" or JIG', timeout=30_000)
    expect(page.locator("#sources .citation")).to_have_count(1)
    bold = page.locator("#sources .citation mark.cited strong").inner_text()  # the answering phrase, on its card
    expect(mark.locator("strong")).to_have_text(bold)  # and in the reader
    page.locator("#reader a.reader-back").click()  # back to the [1] that opened it, focused
    assert page.evaluate("() => document.activeElement.textContent") == "[1]"
    expect(link).to_be_in_viewport()


@pytest.mark.browser
def _kept_conversations(store, title: str) -> list[tuple[str, str, int]]:
    """(id, owner, answers) of every conversation with this title: the test looks behind the page, whose owner
    is a cookie it cannot read."""
    from assistant.store.tables import ConversationRow

    with store.sessions() as session:
        rows = session.query(ConversationRow).filter(ConversationRow.title == title)
        return [(row.id, row.owner, len(row.answers)) for row in rows]


def test_the_conversation_survives_a_reload_and_resumes(chat_server, seeded_assistant, page):
    from playwright.sync_api import expect

    page.goto(chat_server.url + "/")
    _ask_in_page(page, JIG)
    expect(_bot(page, 0)).to_contain_text("Joint Implementation Group", timeout=60_000)
    expect(page.locator("#conversations")).to_contain_text(JIG)

    page.reload()
    expect(page.locator("#chat [data-testid=user]")).to_have_text([JIG], timeout=30_000)
    expect(_bot(page, 0)).to_contain_text("Joint Implementation Group")
    expect(page.locator("#sources mark.cited")).to_contain_text("Joint Implementation Group")
    _ask_in_page(page, "Who will Kerry meet on Friday?")
    expect(_bot(page, 1)).to_contain_text("Lavrov", timeout=60_000)
    # Resumed: the follow-up went into the same conversation, asked with the restored history.
    store = seeded_assistant.store.conversations
    [(kept, owner, _)] = [c for c in _kept_conversations(store, JIG) if c[2] == 2]
    second = store.conversation(owner, kept).turns[1]
    assert [t.question for t in second.history] == [JIG] and "Joint Implementation Group" in second.history[0].answer

    page.reload()
    expect(page.locator("#chat [data-testid=user]")).to_have_text([JIG, "Who will Kerry meet on Friday?"], timeout=30_000)
    expect(page.locator("#conversations label")).to_have_count(1)  # the same conversation, not a second one
    _bot(page, 1).locator("a.cite", has_text="[1]").click()  # a restored answer's citation still opens
    expect(page.locator("#reader mark.cited")).to_contain_text("Lavrov", timeout=30_000)

    page.locator("#new-conversation").click()
    expect(page.locator("#chat [data-testid=user]")).to_have_count(0)
    _ask_in_page(page, "What is the capital of France?")
    expect(_bot(page, 0)).to_have_text("The articles don't say.", timeout=60_000)
    expect(page.locator("#conversations label")).to_have_count(2)
    page.locator("#conversations label", has_text=JIG).click()  # back to the first
    expect(page.locator("#chat [data-testid=user]")).to_have_text([JIG, "Who will Kerry meet on Friday?"], timeout=30_000)
    asked: list[str] = []  # Delete asks first, naming the conversation; "no" keeps it open, "yes" deletes it
    page.on("dialog", lambda d: (asked.append(d.message), d.accept() if len(asked) > 1 else d.dismiss()))
    page.locator("#delete-conversation").click()
    expect(page.locator("#chat [data-testid=user]")).to_have_text([JIG, "Who will Kerry meet on Friday?"])
    page.wait_for_timeout(1000)
    assert len(asked) == 1 and JIG in asked[0] and page.locator("#conversations label").count() == 2
    page.locator("#delete-conversation").click()
    expect(page.locator("#conversations label")).to_have_count(1, timeout=30_000)
    assert len(asked) == 2
    expect(page.locator("#chat [data-testid=user]")).to_have_count(0)
    page.reload()  # the latest left is restored
    expect(page.locator("#chat [data-testid=user]")).to_have_text(["What is the capital of France?"], timeout=30_000)


@pytest.mark.browser
def test_a_new_conversation_started_while_an_answer_streams_drops_that_answer(chat_server, seeded_assistant, page):
    from playwright.sync_api import expect

    first, second = "Who is Kerry meeting on Friday?", "What is the capital of Peru?"
    page.goto(chat_server.url + "/")
    _ask_in_page(page, first)
    page.locator("#new-conversation").click()  # while the first answer is still coming
    page.wait_for_function("() => document.querySelector('.pending, .generating') === null", timeout=60_000)
    expect(page.locator("#chat [data-testid=user]")).to_have_count(0)  # it did not come back into the new one
    _ask_in_page(page, second)
    expect(_bot(page, 0)).to_have_text("The articles don't say.", timeout=60_000)
    expect(page.locator("#chat [data-testid=user]")).to_have_text([second])
    # The second question started a conversation of its own, not one that goes on from the first.
    [(kept, owner, answers)] = _kept_conversations(seeded_assistant.store.conversations, second)
    assert answers == 1 and seeded_assistant.store.conversations.conversation(owner, kept).turns[0].history == []


@pytest.mark.browser
def test_enter_in_articles_in_view_takes_the_article_listed_never_the_typed_text(chat_server, page):
    from playwright.sync_api import expect

    page.goto(chat_server.url + "/")
    page.wait_for_function("() => document.querySelector('.pending, .generating') === null", timeout=60_000)
    picker = page.locator("#scope input")
    picker.click()
    picker.press_sequentially("zzz")
    picker.press("Enter")  # no article is called that: nothing is taken, the text stays to be mended
    expect(picker).to_have_value("zzz")
    assert page.locator("#scope .token").count() == 0
    picker.fill("")
    picker.press_sequentially("Kerr")
    picker.press("Enter")
    expect(page.locator("#scope .token")).to_have_count(1)
    expect(page.locator("#scope .token")).to_contain_text("Kerry in Moscow")
    _ask_in_page(page, JIG)  # asked of the article picked, not of an article called "Kerr"
    expect(_bot(page, 0)).to_contain_text("Joint Implementation Group", timeout=60_000)


@pytest.mark.browser
def test_thumbs_down_on_the_page_lands_in_feedback_export(chat_server, seeded_assistant, page, tmp_path):
    from playwright.sync_api import expect

    question = "What would the Joint Implementation Group enable?"
    page.goto(chat_server.url + "/")
    _ask_in_page(page, question)
    expect(_bot(page, 0)).to_contain_text("coordination", timeout=60_000)
    page.locator("#chat button[aria-label=Dislike]").last.click()
    expect(page.locator("#feedback-status")).to_contain_text("marked as not helpful", timeout=30_000)
    page.locator("#feedback-comment textarea").fill("It should say between whose militaries.")
    page.locator("#send-comment").click()
    expect(page.locator("#feedback-status")).to_contain_text("your comment is recorded", timeout=30_000)
    assert page.locator("#chat [data-testid=user]").count() == 1  # (what the empty question below must not add)
    page.locator("#new-conversation").click()  # the comment box goes with the conversation it was about
    expect(page.locator("#feedback-comment")).to_be_hidden(timeout=30_000)
    expect(page.locator("#feedback-status")).to_have_text("")
    page.locator("#question textarea").press("Enter")  # an empty question: nothing asked, nothing in the chat
    page.wait_for_timeout(1000)
    assert page.locator("#chat [data-testid=user]").count() == 0 and page.locator("#chat [data-testid=bot]").count() == 0
    page.reload()  # the thumbs are shown as they were left
    page.locator("#conversations label").first.click()
    expect(page.locator("#chat button[aria-label=Disliked]")).to_have_count(1, timeout=30_000)

    out = tmp_path / "feedback.jsonl"
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(seeded_assistant.settings.index_dir)}
    exported = subprocess.run([str(CLI), "feedback", "export", "--out", str(out)], env=env, capture_output=True,
                              text=True, timeout=120)
    assert exported.returncode == 0, exported.stderr
    assert "marked for review" in exported.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    [line] = [line for line in lines if line.get("comment") == "It should say between whose militaries."]
    assert line["question"] == question and line["review"] == "thumbs-down" and line["answerable"] is False
    assert "coordination" in line["rejected_answer"] and line["article"] == "000_1083003a9cf2d7aa.txt"
    listed = subprocess.run([str(CLI), "feedback", "list", "--rating", "down", "--json"], env=env, capture_output=True,
                            text=True, timeout=120)
    records = [json.loads(line) for line in listed.stdout.splitlines()]
    assert listed.returncode == 0 and {r["rating"] for r in records} == {"down"}
    [record] = [r for r in records if r["comment"] == "It should say between whose militaries."]
    assert record["question"] == question and record["answer"]["citations"][0]["title"].startswith("Kerry in Moscow")
    assert record["settings"]["backend"] == "extractive"


@pytest.mark.browser
def test_an_empty_index_says_so_and_points_at_the_upload_box(seeded_assistant, tmp_path, page, artifacts_dir):
    from playwright.sync_api import expect

    from assistant.core import Assistant
    from assistant.settings import load_settings

    empty = Assistant(load_settings(index_dir=tmp_path / "index"), embedder=seeded_assistant.embedder)
    with ServerThread(create_app(empty)) as server:
        page.goto(server.url + "/")
        notice = page.locator("#index-notice")
        expect(notice).to_contain_text("No articles are indexed yet", timeout=30_000)
        expect(page.locator("#upload-box")).to_be_visible()  # the Articles section is open at the upload box
        expect(page.locator("#conversations")).to_contain_text("None yet")  # no conversation: nothing to delete
        expect(page.locator("#delete-conversation")).to_be_hidden()
        notice.locator("a", has_text="Articles").click()
        _ask_in_page(page, JIG)
        expect(_bot(page, 0)).to_contain_text("No articles are indexed yet", timeout=60_000)
        expect(_bot(page, 0)).not_to_contain_text("The articles don't say.")
        page.screenshot(path=str(artifacts_dir / "chat-page-empty-index.png"), full_page=True)

        # Through the upload box (open on 127.0.0.1 without keys): the notice goes, the box empties, answers come.
        (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04 a word document")  # another type among them
        page.locator("#upload-box input[type=file]").set_input_files([str(SEED_ARTICLE), str(tmp_path / "notes.docx")])
        expect(page.locator("#upload-box")).to_contain_text(SEED_ARTICLE.stem, timeout=30_000)
        page.get_by_role("button", name="Ingest uploaded files").click()
        expect(page.locator("#upload-status")).to_contain_text("Added 1", timeout=120_000)
        expect(page.locator("#upload-status")).to_contain_text("notes.docx: unsupported file type .docx")
        expect(page.locator("#upload-status")).to_have_attribute("role", "status")  # said to a screen reader
        expect(notice).to_be_empty()
        expect(page.locator("#articles")).to_contain_text("Kerry in Moscow")
        expect(page.locator("#upload-box")).not_to_contain_text(SEED_ARTICLE.stem)
        _ask_in_page(page, JIG)
        expect(_bot(page, 1)).to_contain_text("Joint Implementation Group", timeout=60_000)
        expect(page.locator("#delete-conversation")).to_be_visible(timeout=30_000)  # the conversation is kept
        expect(page.locator("#conversations")).not_to_contain_text("None yet")

        # Remove asks first, naming the article; "no" removes nothing, "yes" empties the index again.
        asked: list[str] = []
        page.on("dialog", lambda d: (asked.append(d.message), d.accept() if len(asked) > 1 else d.dismiss()))
        page.locator("#manage-article input").click()
        page.get_by_role("option", name=re.compile("Kerry in Moscow")).click()
        page.locator("#remove-article").click()
        expect(page.locator("#upload-status")).to_contain_text("Nothing was removed.", timeout=30_000)
        assert len(asked) == 1 and "Kerry in Moscow" in asked[0] and len(empty.articles()) == 1
        page.locator("#remove-article").click()
        expect(page.locator("#upload-status")).to_contain_text("Removed Kerry in Moscow", timeout=30_000)
        expect(notice).to_contain_text("No articles are indexed yet", timeout=30_000)
        assert len(asked) == 2 and empty.articles() == []


def _axe(page) -> list[dict]:
    page.evaluate(AXE_JS)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [[*n["target"], n.get("failureSummary", "")] for n in v["nodes"]]} for v in results["violations"]]


@pytest.mark.browser
@pytest.mark.parametrize(("name", "viewport"), [("desktop", (1280, 900)), ("phone", (390, 844)), ("dark", (1280, 900))])
def test_the_page_has_no_serious_accessibility_violations(chat_server, browser, name, viewport, artifacts_dir):
    """axe-core (4.12, shipped by the axe-playwright-python package) over the page as it opens, and with an answer
    and the reader; "dark": in Gradio's dark theme, which follows the system's preference."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, is_mobile=name == "phone",
                                  color_scheme="dark" if name == "dark" else "light")
    page = context.new_page()
    page.goto(chat_server.url + "/")
    expect(page.locator("#sources .sources-empty")).to_be_visible(timeout=60_000)
    for panel in ("#chat", "#sources"):  # the page's first loading veil gone (it dims the text)
        expect(page.locator(f"{panel} [data-testid=status-tracker]").first).to_have_class(re.compile(r"\bhide\b"))
    page.wait_for_timeout(400)
    opening = _axe(page)
    _ask_in_page(page, OVERVIEW)
    _bot(page, 0).locator("a.cite", has_text="[2]").click(timeout=60_000)
    expect(page.locator("#reader mark.cited")).to_be_visible(timeout=30_000)
    expect(page.locator("#sources .citation.selected")).to_be_visible()
    for panel in ("#chat", "#sources", "#reader"):  # no "updating" veil left over a panel (it dims the text)
        expect(page.locator(f"{panel} [data-testid=status-tracker]").first).to_have_class(re.compile(r"\bhide\b"))
    page.wait_for_timeout(400)  # and its fade-out done: axe measures contrast as painted
    findings = opening + _axe(page)
    (artifacts_dir / f"axe-chat-page-{name}.json").write_text(json.dumps(findings, indent=2))
    page.screenshot(path=str(artifacts_dir / f"chat-page-{name}.png"))
    context.close()
    assert [f for f in findings if f["impact"] in ("serious", "critical")] == []


def test_the_articles_list_shows_the_most_recent_and_says_how_to_find_the_rest():
    from assistant.models import ArticleInfo
    from assistant.web.render import ARTICLES_LISTED, articles_html

    def article(n: int) -> ArticleInfo:
        return ArticleInfo(f"a-{n}", f"Story <{n}>", f"{n}.md", None, f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}", 1,
                           100, "now", ("default",))

    many = [article(n) for n in range(ARTICLES_LISTED + 50)]
    html = articles_html(many)
    assert html.count("<tr>") == ARTICLES_LISTED + 1  # the head and the most recent 100
    dates = re.findall(r"<td>(2024-\d\d-\d\d)</td>", html)
    assert dates == sorted(dates, reverse=True) and dates[0] == max(a.published for a in many)
    assert f"The {ARTICLES_LISTED} most recent of 150 articles. Type in <b>Articles in view</b>" in html
    assert "<td>Story &lt;" in html and "<td>Story <" not in html  # titles are text
    assert "2 article(s), most recent first" in articles_html(many[:2])


def test_the_reader_shows_article_text_as_text_and_links_only_web_urls():
    from assistant.models import Article, Citation
    from assistant.web.render import link_html, reader_html

    text = "Harbour bridge <img src=x onerror=alert(1)>\n\nThe bridge reopened on Monday. It cost <b>£4m</b>."
    quote = "The bridge reopened on Monday."
    cited = Citation(n=2, article_id="bridge", title="<i>Bridge</i>", source="upload:bridge.md", quote=quote,
                     start=text.index(quote), end=text.index(quote) + len(quote), score=0.9)
    for url, link in (("https://news.example/bridge?a=1&b=2", 'href="https://news.example/bridge?a=1&amp;b=2"'),
                      ("javascript:alert(1)", None), (None, None)):
        html = reader_html(Article(id="bridge", title="<i>Bridge</i>", text=text, source="upload:bridge.md", url=url,
                                   published="2025-03-01"), cited)
        assert '<mark class="cited" id="reader-cited">The bridge reopened on Monday.</mark>' in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html and "<b>" not in html
        assert "&lt;i&gt;Bridge&lt;/i&gt;" in html and "Published 2025-03-01" in html
        assert (link in html and 'rel="noopener noreferrer"' in html) if link else "Original article" not in html
    # The same rule for the links on passage cards and in the Articles table.
    assert link_html("javascript:alert(1)") == "javascript:alert(1)" and "<a" not in link_html("data:text/html,<b>")
    assert link_html('https://news.example/"><b>', "original").startswith('<a href="https://news.example/&quot;&gt;&lt;b&gt;"')
    moved = reader_html(Article(id="bridge", title="Bridge", text="Rewritten since.", source="upload:bridge.md"), cited)
    assert "no longer in it" in moved and "No publication date" in moved
    # An article in Hebrew or Arabic reads right to left in an English page: its text sets its own direction.
    hebrew = "המוזיאון נפתח מחדש ביום שני אחרי שנתיים."
    opened = Citation(n=1, article_id="he", title="מוזיאון", source="upload:he.txt", quote=hebrew, start=0,
                      end=len(hebrew), score=0.9)
    shown = reader_html(Article(id="he", title="מוזיאון", text=hebrew, source="upload:he.txt"), opened)
    assert '<h3 class="reader-title" id="reader-title" tabindex="-1" dir="auto">מוזיאון</h3>' in shown
    assert '<div class="reader-text" dir="auto"' in shown


def test_a_handler_can_be_called_alone(seeded_assistant):
    """The page's handlers are named methods: here called without a page, as Gradio calls them per request."""
    import gradio as gr
    from starlette.requests import Request

    from assistant.web.auth import load_keyring
    from assistant.web.chat import ChatHandlers
    from assistant.web.session import PageAccess

    handlers = ChatHandlers(seeded_assistant, PageAccess(load_keyring(seeded_assistant.settings),
                                                         seeded_assistant.settings), articles=None)
    stranger = gr.Request(request=Request({"type": "http", "method": "POST", "path": "/", "headers": []}))
    _, message = handlers.open_citation("0123456789abcdef-1", stranger)  # no browser session: nobody's answer
    assert "no answer with id" in message
    updates = list(handlers.respond("What does JIG stand for?", [], [], None, [], [], stranger))
    history, _, _, past, conversation_id, ids = updates[-1]
    assert "Joint Implementation Group" in history[-1]["content"] and past[0].question == "What does JIG stand for?"
    assert conversation_id is None and ids[-1] is None  # nothing kept for a request without a browser session
    # what a caller of the page's endpoint sends instead of ids is said in the chat, naming the control
    odd = list(handlers.respond("What does JIG stand for?", [], [], None, [], [{"a": 1}], stranger))[-1][0]
    assert odd[-1]["content"].startswith("⚠ in view: must be a list of ids") and "pydantic" not in odd[-1]["content"]


def test_an_article_in_view_that_is_removed_leaves_the_view(seeded_assistant):
    """Else every later question fails naming the removed id (the page refreshes its pickers after a change)."""
    import gradio as gr
    from starlette.requests import Request

    from assistant.web.auth import load_keyring
    from assistant.web.page_articles import add_article_controls
    from assistant.web.session import PageAccess

    access = PageAccess(load_keyring(seeded_assistant.settings), seeded_assistant.settings)
    with gr.Blocks():
        controls = add_article_controls(seeded_assistant, access, gr.Dropdown(), gr.Dropdown(), gr.State([]))
    [seed] = [a.id for a in seeded_assistant.articles()]
    browser = gr.Request(request=Request({"type": "http", "method": "POST", "path": "/", "headers": []}))
    in_view, *_ = controls.refresh(None, [seed, "upload-removed-1f37cdfa"], request=browser)
    assert in_view["value"] == [seed]
