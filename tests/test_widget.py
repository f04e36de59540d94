"""The embeddable widget in headless Chromium, on host pages served from other origins on 127.0.0.1."""

from __future__ import annotations

import re
import unicodedata

import pytest
from conftest import ROOT, SEED_ARTICLE, SEEDS
from servers import ServerThread, free_port
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from test_chat_page import HOSTILE, _browser

from assistant.core import Assistant
from assistant.settings import load_settings
from assistant.web.app import create_app

pytestmark = pytest.mark.browser

WIDGET_KEY = "widget-key-for-the-browser-tests"
NOT_SET_UP = "This assistant is not set up correctly on this site, so it cannot answer. Please let the site's owner know."
# A host page whose CSS would wreck any widget that did not isolate its styles.
HOST_PAGE = """<!doctype html>
<html><head><title>Harbour News</title>
<style>
  body {{ font-family: Georgia, serif; color: darkred; background: #f5f0e6; }}
  button {{ background: hotpink !important; border: 5px dashed lime !important; }}
  div, p, blockquote {{ font-size: 30px !important; }}
</style></head>
<body>
  <h1>Harbour News</h1>
  <p>A host page on another origin that embeds the article assistant.</p>
  <script src="{assistant}/embed.js" data-key="{key}" data-title="Ask Harbour News"
          data-position="bottom-right"></script>
</body></html>
"""
# An article's page as news sites write it: it says it is one (Open Graph), and names no article id.
OG_ARTICLE_PAGE = """<!doctype html>
<html><head><title>Harbour News story</title><meta property="og:type" content="article"></head>
<body><h1>A story</h1>
  <script src="{assistant}/embed.js" data-key="{key}" data-title="Ask Harbour News"></script>
</body></html>
"""
IFRAME_PAGE = """<!doctype html>
<html><head><title>Harbour News (iframe)</title></head>
<body><h1>Harbour News</h1>
  <iframe src="{assistant}/widget#key={key}&title=Ask%20in%20a%20frame" width="420" height="560"></iframe>
</body></html>
"""

# A legacy site with a strict Content-Security-Policy (the one docs/widget.md gives: no inline styles or scripts),
# Prototype.js's Array.prototype.toJSON, a fetch that cannot stream, a right-to-left page and CSS that forces
# itself on every element.
STRICT_PAGE = """<!doctype html>
<html dir="rtl"><head><title>Harbour News (strict)</title><link rel="stylesheet" href="/site.css"></head>
<body><h1>Harbour News</h1>
  <script src="/prototype.js"></script>
  <script src="{assistant}/embed.js" data-key="{key}" data-title="Ask Harbour News"></script>
</body></html>
"""
STRICT_CSS = "* { letter-spacing: 4px !important; text-transform: uppercase !important; }\n"
PROTOTYPE_JS = """Array.prototype.toJSON = function () { return '[' + this.join(',') + ']'; };
// fetch over XMLHttpRequest, as old polyfills do: a whole response, no stream to read
const realFetch = window.fetch;
window.fetch = function (url, options) {
  return realFetch(url, options).then(function (r) {
    const text = r.text();
    return { ok: r.ok, status: r.status, headers: r.headers, body: undefined,
             text: function () { return text; }, json: function () { return text.then(JSON.parse); } };
  });
};
"""
SANDBOXED_IFRAME_PAGE = """<!doctype html>
<html><head><title>Harbour News (sandboxed iframe)</title></head>
<body><iframe sandbox="{sandbox}" src="{assistant}/widget#key={key}&title=Ask%20in%20a%20sandbox"
        width="400" height="560"></iframe></body></html>
"""

# The README's own iframe snippet (border: 0), at a size the test picks.
SIZED_IFRAME_PAGE = """<!doctype html>
<html><head><title>Harbour News (iframe {width}x{height})</title></head>
<body><iframe src="{assistant}/widget#key={key}&title=Ask%20Example%20News"
        width="{width}" height="{height}" style="border: 0"></iframe></body></html>
"""


def documented_iframe_sizes() -> set[tuple[int, int]]:
    """Every width x height of a /widget iframe snippet in the README and docs/widget.md."""
    sizes = set()
    for doc in (ROOT / "README.md", ROOT / "docs" / "widget.md"):
        for tag in re.findall(r"<iframe\b[^>]*/widget[^>]*>", doc.read_text()):
            width, height = re.search(r'width="(\d+)"', tag), re.search(r'height="(\d+)"', tag)
            if width and height:
                sizes.add((int(width[1]), int(height[1])))
    return sizes


# The documented sizes (400x560 today), a narrow phone-sized frame and a wide one.
IFRAME_SIZES = sorted(documented_iframe_sizes() | {(320, 480), (400, 560), (800, 600)})


# The article's own page: the widget is scoped to it, so "this article" means it.
ARTICLE_PAGE = """<!doctype html>
<html><head><title>Kerry in Moscow</title></head>
<body><h1>Kerry in Moscow</h1>
  <script src="{assistant}/embed.js" data-key="{key}" data-title="Ask about this story" data-article="{article}"></script>
</body></html>
"""


def host_site(assistant_url: str, article_id: str = "") -> Starlette:
    """A second site: the pages a customer would write, pointing at the assistant's server."""

    def page(template: str):
        return lambda request: HTMLResponse(template.format(assistant=assistant_url, key=WIDGET_KEY, article=article_id))

    def misconfigured(request):  # a site that pasted a wrong key
        return HTMLResponse(HOST_PAGE.format(assistant=assistant_url, key="not-a-key-of-this-server", article=""))

    def no_such_collection(request):  # a site whose tag names a collection the server does not hold
        html = HOST_PAGE.format(assistant=assistant_url, key=WIDGET_KEY, article="")
        return HTMLResponse(html.replace('data-position=', 'data-collection="no-such-collection" data-position='))

    def sized_iframe(request):
        width, height = int(request.query_params["width"]), int(request.query_params["height"])
        html = SIZED_IFRAME_PAGE.format(assistant=assistant_url, key=WIDGET_KEY, width=width, height=height)
        return HTMLResponse(html)

    def strict(request):
        policy = (f"default-src 'none'; script-src 'self' {assistant_url}; style-src 'self'; "
                  f"connect-src {assistant_url}; frame-src {assistant_url}")
        html = STRICT_PAGE.format(assistant=assistant_url, key=WIDGET_KEY)
        return HTMLResponse(html, headers={"Content-Security-Policy": policy})

    def csp(policy: str):  # the host page with a policy (a header of the given name) that leaves the API out
        def page(request):
            html = HOST_PAGE.format(assistant=assistant_url, key=WIDGET_KEY, article="")
            name = request.query_params.get("header", "Content-Security-Policy")
            return HTMLResponse(html, headers={name: policy})
        return page

    def sandboxed(request):
        return HTMLResponse(SANDBOXED_IFRAME_PAGE.format(assistant=assistant_url, key=WIDGET_KEY,
                                                         sandbox=request.query_params["sandbox"]))

    def asset(text: str, media_type: str):
        return lambda request: Response(text, media_type=media_type)

    return Starlette(routes=[Route("/", page(HOST_PAGE)), Route("/iframe", page(IFRAME_PAGE)),
                             Route("/strict", strict), Route("/site.css", asset(STRICT_CSS, "text/css")),
                             Route("/prototype.js", asset(PROTOTYPE_JS, "text/javascript")),
                             Route("/iframe-sandboxed", sandboxed), Route("/no-connect", csp("connect-src 'self'")),
                             Route("/iframe-sized", sized_iframe),
                             Route("/article", page(ARTICLE_PAGE)), Route("/story/ferry", page(HOST_PAGE)),
                             Route("/news/{slug}", page(OG_ARTICLE_PAGE)),
                             Route("/wrong-key", misconfigured), Route("/wrong-collection", no_such_collection)])


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """The assistant's server, a host site on its widget allowlist, and one that is not."""
    root = tmp_path_factory.mktemp("widget")
    (root / "vandal.txt").write_text(HOSTILE)
    allowed_port, port = free_port(), free_port()
    settings = load_settings(  # the port is the server's own origin, where /widget calls the API from
        index_dir=root / "index", widget_keys=WIDGET_KEY, widget_origins=f"http://127.0.0.1:{allowed_port}", port=port
    )
    # An article that lives at a page of the host site: the widget on that page is about it, untold.
    (root / "ferry.md").write_text(
        f"---\ntitle: Night ferry returns\nurl: http://127.0.0.1:{allowed_port}/story/ferry\n---\n"
        "The night ferry to Saltmarsh returns on Friday after a winter pause.\n\n"
        "Tickets go on sale at the harbour office on Monday.\n"
    )
    # Emoji before the quote, whose sentence is also said earlier: a span counted in UTF-16 units marks the wrong one.
    filler = " ".join(f"Filler sentence number {n} talks about the weather and the harbour and the roads."
                      for n in range(12))
    (root / "rockets.txt").write_text(
        f"Ticket report 🎟🎟🎟\n\nTickets cost twenty dollars. The weather was warm 🌞 that day.\n\n{filler}\n\n"
        "The organisers 🎪 of the Rocket Festival 🚀 answered questions about prices at the Rocket Festival 🚀 gate. "
        "Tickets cost twenty dollars.\n"
    )
    assistant = Assistant(settings)
    assert assistant.ingest([SEEDS, root / "vandal.txt", root / "ferry.md", root / "rockets.txt"]).ok
    seed_id = next(a.id for a in assistant.articles() if a.source == str(SEED_ARTICLE.resolve()))
    with ServerThread(create_app(assistant), port=port) as server:
        site = host_site(server.url, seed_id)
        with ServerThread(site, port=allowed_port) as allowed, ServerThread(site) as not_allowed:
            yield {"assistant": server.url, "allowed": allowed.url, "not_allowed": not_allowed.url, "kept": assistant}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = _browser(p)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    page = context.new_page()
    dialogs: list[str] = []  # any alert() would land here: article HTML must never run
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    yield page
    context.close()
    assert dialogs == []


def open_widget(page, url: str) -> None:
    page.goto(url)
    page.locator("article-assistant .launcher").click()


def ask(page, question: str) -> None:
    from playwright.sync_api import expect

    # The widget ignores Enter while an answer is still streaming (as a person would see: the Ask button is
    # greyed out), so a second question waits for the first answer to finish, as a reader does.
    expect(page.locator("article-assistant form.ask button.send")).to_be_enabled(timeout=60_000)
    box = page.locator("article-assistant form.ask textarea")  # Playwright's CSS pierces the open shadow root
    box.fill(question)
    box.press("Enter")


def test_widget_answers_with_citations_and_keeps_the_conversation(page, sites, artifacts_dir):
    from playwright.sync_api import expect

    page.goto(sites["allowed"])
    launcher = page.locator("article-assistant .launcher")
    expect(launcher).to_be_visible()
    # The host page's `button { background: hotpink !important }` does not reach into the widget.
    assert launcher.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(37, 99, 235)"
    launcher.click()
    expect(page.locator("article-assistant .title")).to_have_text("Ask Harbour News")
    page.evaluate("""() => {  // the live log is busy while the answer streams, so it is announced once, whole
      const log = document.querySelector('article-assistant').shadowRoot.querySelector('.log');
      window.busySeen = [];
      new MutationObserver(() => window.busySeen.push(log.getAttribute('aria-busy')))
        .observe(log, {attributes: true, attributeFilter: ['aria-busy']});
    }""")
    ask(page, "What does JIG stand for?")
    answer = page.locator("article-assistant .msg.bot .text")
    expect(answer).to_contain_text("Joint Implementation Group", timeout=60_000)
    expect(page.locator("article-assistant .log")).to_have_attribute("aria-busy", "false")
    assert page.evaluate("window.busySeen") == ["true", "false"]
    citation = page.locator("article-assistant .citation")
    expect(citation).to_contain_text("Kerry in Moscow")
    expect(citation.locator(".quote")).to_contain_text('"Joint Implementation Group" or JIG')
    expect(citation.locator(".quote strong.phrase")).to_have_text("Joint Implementation Group")  # bold, as a text node
    page.screenshot(path=str(artifacts_dir / "widget.png"))

    page.reload()  # the conversation (and the open panel) survive a reload
    expect(page.locator("article-assistant .msg.user")).to_have_text("You: What does JIG stand for?")
    expect(page.locator("article-assistant .citation")).to_contain_text("Kerry in Moscow")
    ask(page, "Who will he meet on Friday?")  # the saved history makes the follow-up resolve
    expect(answer.nth(1)).to_contain_text("Lavrov", timeout=60_000)

    page.locator("article-assistant .new").click()
    expect(page.locator("article-assistant .msg")).to_have_count(0)


def test_new_while_an_answer_arrives_keeps_that_answer_out_of_the_new_conversation(page, sites):
    from playwright.sync_api import expect

    open_widget(page, sites["allowed"])
    ask(page, "What does JIG stand for?")
    page.locator("article-assistant .new").click()  # while the answer is still on its way
    expect(page.locator("article-assistant form.ask button.send")).to_be_enabled(timeout=60_000)  # it has arrived
    expect(page.locator("article-assistant .empty")).to_be_visible()
    expect(page.locator("article-assistant .msg")).to_have_count(0)
    page.reload()  # nor was it saved into the new conversation
    expect(page.locator("article-assistant .empty")).to_be_visible(timeout=30_000)
    expect(page.locator("article-assistant .msg")).to_have_count(0)


def test_widget_on_a_site_not_allowed_shows_an_error_and_no_answer(page, sites, artifacts_dir):
    from playwright.sync_api import expect

    open_widget(page, sites["not_allowed"])
    ask(page, "What does JIG stand for?")
    error = page.locator("article-assistant .error")
    expect(error).to_contain_text("is not allowed to use this assistant yet", timeout=30_000)
    expect(error).to_contain_text(sites["not_allowed"])
    expect(page.locator("article-assistant .msg.bot")).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "widget-origin-not-allowed.png"))


def test_article_html_shows_as_text_in_the_widget(page, sites, artifacts_dir):
    from playwright.sync_api import expect

    open_widget(page, sites["allowed"])
    ask(page, "What did the vandal type into the guestbook on Monday?")
    answer = page.locator("article-assistant .msg.bot .text")
    expect(answer).to_contain_text("<script>alert(1)</script>", timeout=60_000)
    # Asked so that the markup itself is the answer: "What appeared in the guestbook on Tuesday?" is answered from
    # the Monday sentence by the two-pass reader (5.1 against 3.0), which reads the day as a detail
    ask(page, "What was the second post in the guestbook?")
    quote = page.locator("article-assistant .citation .quote").last
    expect(quote).to_contain_text("<img src=x onerror=alert(1)>", timeout=60_000)
    page.wait_for_timeout(300)
    assert page.locator("article-assistant img").count() == 0
    assert page.locator("article-assistant script").count() == 0
    page.screenshot(path=str(artifacts_dir / "widget-hostile.png"))


def test_widget_page_in_an_iframe(page, sites, artifacts_dir):
    from playwright.sync_api import expect

    page.goto(sites["allowed"] + "/iframe")
    frame = page.frame_locator("iframe")
    expect(frame.locator("article-assistant .title")).to_have_text("Ask in a frame")
    box = frame.locator("article-assistant form.ask textarea")
    box.fill("What does JIG stand for?")
    box.press("Enter")
    expect(frame.locator("article-assistant .citation")).to_contain_text("Kerry in Moscow", timeout=60_000)
    page.screenshot(path=str(artifacts_dir / "widget-iframe.png"))

    # frame-ancestors: a site that is not allowed cannot frame /widget at all.
    page.goto(sites["not_allowed"] + "/iframe", wait_until="load")  # "load" waits for the frame too
    assert page.frames[1].url == "chrome-error://chromewebdata/"  # Chromium's page for a blocked frame


def test_the_widget_works_under_a_strict_content_security_policy_on_a_legacy_page(page, sites, artifacts_dir):
    """No inline style or script, no style-src for the assistant, a page-wide !important rule, a right-to-left page,
    Prototype.js's Array.prototype.toJSON and a fetch that cannot stream: the widget is styled as anywhere, left to
    right, and answers."""
    from playwright.sync_api import expect

    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    open_widget(page, sites["allowed"] + "/strict")
    panel = page.locator("article-assistant .panel")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert (box["width"], box["height"]) == (380, 560)  # its own stylesheet applies
    title = page.locator("article-assistant .title")
    style = title.evaluate("t => [getComputedStyle(t).letterSpacing, getComputedStyle(t).textTransform, "
                           "getComputedStyle(t).direction]")
    assert style == ["normal", "none", "ltr"]  # the page's CSS does not reach in
    ask(page, "What does JIG stand for?")  # sent as JSON lists, not the strings Prototype's toJSON makes
    expect(page.locator("article-assistant .citation")).to_contain_text("Kerry in Moscow", timeout=60_000)
    page.screenshot(path=str(artifacts_dir / "widget-strict-csp.png"))
    assert violations == []


def test_a_page_whose_policy_blocks_the_api_is_told_so_and_a_report_only_one_changes_nothing(page, sites):
    from playwright.sync_api import expect

    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    open_widget(page, sites["allowed"] + "/no-connect")  # the stylesheet comes by its <link> instead
    ask(page, "What does JIG stand for?")
    expect(page.locator("article-assistant .error")).to_have_text(NOT_SET_UP, timeout=30_000)  # not "try again"
    assert any("add it to connect-src" in w for w in warnings), warnings
    page.goto(sites["allowed"] + "/no-connect?header=Content-Security-Policy-Report-Only")  # the panel stays open
    ask(page, "What does JIG stand for?")
    expect(page.locator("article-assistant .citation")).to_contain_text("Kerry in Moscow", timeout=60_000)


def test_a_sandboxed_iframe_asks_without_allow_forms_and_says_what_its_sandbox_lacks(page, sites):
    from playwright.sync_api import expect

    page.goto(sites["allowed"] + "/iframe-sandboxed?sandbox=allow-scripts allow-same-origin")  # no allow-forms
    frame = page.frame_locator("iframe")
    box = frame.locator("article-assistant form.ask textarea")
    box.fill("What does JIG stand for?")
    box.press("Enter")
    expect(frame.locator("article-assistant .citation")).to_contain_text("Kerry in Moscow", timeout=60_000)

    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    page.goto(sites["allowed"] + "/iframe-sandboxed?sandbox=allow-scripts")  # no origin: CORS cannot allow it
    frame = page.frame_locator("iframe")
    frame.locator("article-assistant form.ask textarea").fill("What does JIG stand for?")
    frame.locator("article-assistant form.ask button.send").click()
    expect(frame.locator("article-assistant .error")).to_have_text(NOT_SET_UP, timeout=30_000)
    assert any("allow-same-origin" in w for w in warnings), warnings


def test_widget_on_an_articles_own_page_answers_about_that_article(page, sites, artifacts_dir):
    from playwright.sync_api import expect

    open_widget(page, sites["allowed"] + "/article")
    expect(page.locator("article-assistant .scope")).to_have_text("About this article")
    ask(page, "What is this article about?")
    answer = page.locator("article-assistant .msg.bot .text")
    expect(answer).to_contain_text("John Kerry visits Moscow", timeout=60_000)
    citations = page.locator("article-assistant .citation")
    expect(citations.nth(1)).to_be_visible()  # at least two cited sentences
    for i in range(citations.count()):
        expect(citations.nth(i)).to_contain_text("Kerry in Moscow")  # all from the article in view
    page.screenshot(path=str(artifacts_dir / "widget-article-overview.png"))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Summarize the article about Kerry's visit to Moscow.", "John Kerry visits Moscow"),
        ("What articles do you have?", "Kerry in Moscow 'seeking joint bombing campaign in Syria' (2016-07-14)"),
    ],
)
def test_widget_answers_overview_and_catalogue_requests(page, sites, question, expected):
    from playwright.sync_api import expect

    open_widget(page, sites["allowed"])
    ask(page, question)
    expect(page.locator("article-assistant .msg.bot .text")).to_contain_text(expected, timeout=60_000)
    expect(page.locator("article-assistant .citation").nth(1)).to_be_visible()  # two cited lines or sentences


def test_widget_on_the_page_an_article_links_to_is_about_that_article(page, sites):
    from playwright.sync_api import expect

    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.post_data or "") if r.url.endswith("/api/ask/stream") else None)
    open_widget(page, sites["allowed"] + "/story/ferry?session=SECRET-Q#access_token=SECRET-F")
    ask(page, "What is this article about?")
    expect(page.locator("article-assistant .msg.bot .text")).to_contain_text("night ferry to Saltmarsh", timeout=60_000)
    expect(page.locator("article-assistant .citation").first).to_contain_text("Night ferry returns")
    # Its reader links to the original page.
    page.locator("article-assistant .citation .read").first.click()
    original = page.locator("article-assistant .reader-meta a.original")
    expect(original).to_have_attribute("href", sites["allowed"] + "/story/ferry")
    assert original.get_attribute("rel") == "noopener noreferrer"
    # The page's address goes to the server without its query and fragment, where a site may keep tokens.
    assert sent and all(f'"urls":["{sites["allowed"]}/story/ferry"]' in body for body in sent), sent


def test_a_citation_opens_the_compact_reader_in_the_widget(page, sites, artifacts_dir):
    from playwright.sync_api import expect

    open_widget(page, sites["allowed"])
    ask(page, "What does JIG stand for?")
    cite = page.locator("article-assistant .msg.bot .text .cite", has_text="[1]")
    expect(cite).to_be_visible(timeout=60_000)
    quote = page.locator("article-assistant .citation .quote").first.inner_text()
    cite.click()
    reader = page.locator("article-assistant .reader")
    expect(reader).to_be_visible()
    expect(reader.locator(".reader-title")).to_contain_text("Kerry in Moscow")
    expect(reader.locator(".reader-meta")).to_contain_text("Published 2016-07-14")
    mark = reader.locator("mark.cited")
    expect(mark).to_have_text(quote, timeout=30_000)
    expect(mark).to_be_in_viewport()
    phrase = page.locator("article-assistant .citation .quote .phrase").first.inner_text()
    expect(mark.locator(".phrase")).to_have_text(phrase)  # the answering phrase bold there too, as on its card
    assert len(reader.locator(".reader-text").inner_text()) > 2000  # the whole article
    # What the reader covers takes no focus: Shift+Tab from Back stays out of the hidden question box.
    for _ in range(3):
        page.keyboard.press("Shift+Tab")
        focused = page.evaluate("() => document.querySelector('article-assistant').shadowRoot.activeElement?.className")
        assert focused not in ("send", "") and "textarea" not in page.evaluate(
            "() => document.querySelector('article-assistant').shadowRoot.activeElement?.tagName.toLowerCase() || ''")
    page.locator("article-assistant .back").focus()
    page.screenshot(path=str(artifacts_dir / "widget-reader.png"))
    page.keyboard.press("Escape")  # closes the reader first, back on the [1] that opened it
    expect(reader).to_be_hidden()
    expect(page.locator("article-assistant .panel")).to_be_visible()
    assert cite.evaluate("c => c.getRootNode().activeElement === c")
    # "Read it in the article" on a passage card opens it too; so does an answer restored after a reload.
    page.reload()
    read = page.locator("article-assistant .citation .read").first
    assert read.get_attribute("aria-label").startswith("Read it in the article")  # its spoken name holds its words
    read.click()
    expect(mark).to_have_text(quote, timeout=30_000)
    active = "() => document.querySelector('article-assistant').shadowRoot.activeElement?.className || ''"
    # Reopened over its reader, the panel puts the focus on Back (the question box under it is inert).
    page.locator("article-assistant .launcher").click()
    expect(page.locator("article-assistant .panel")).to_be_hidden()
    page.locator("article-assistant .launcher").click()
    assert "back" in page.evaluate(active)
    page.locator("article-assistant .back").click()
    expect(reader).to_be_hidden()
    # Ask pressed from the keyboard leaves the focus in the question box, not dropped to the page.
    page.locator("article-assistant form.ask textarea").fill("Who will Kerry meet?")
    page.locator("article-assistant form.ask button.send").focus()
    page.keyboard.press("Enter")
    expect(page.locator("article-assistant .msg.bot")).to_have_count(2, timeout=60_000)
    assert page.evaluate("() => document.querySelector('article-assistant').shadowRoot.activeElement?.tagName") == "TEXTAREA"


def test_the_reader_keeps_its_header_in_view_after_a_long_conversation_on_a_phone(page, sites, artifacts_dir):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 375, "height": 667})
    open_widget(page, sites["allowed"])
    for question in ("What does JIG stand for?", "Who will Kerry meet on Friday?", "What does JIG stand for?"):
        ask(page, question)
    expect(page.locator("article-assistant .msg.bot:not(.pending)")).to_have_count(3, timeout=120_000)
    page.locator("article-assistant .msg.bot .text .cite").last.click()
    mark = page.locator("article-assistant .reader mark.cited")
    expect(mark).to_be_in_viewport(timeout=30_000)
    panel = page.locator("article-assistant .panel").bounding_box()
    head = page.locator("article-assistant .reader-head").bounding_box()
    assert head["y"] >= panel["y"] - 0.5, (head, panel)  # the panel itself did not scroll: Back stays in reach
    page.screenshot(path=str(artifacts_dir / "widget-reader-phone-long.png"))


def test_the_reader_marks_the_cited_span_after_emoji(page, sites):
    from playwright.sync_api import expect

    open_widget(page, sites["allowed"])
    ask(page, "How much did tickets cost at the Rocket Festival gate?")
    cite = page.locator("article-assistant .msg.bot .text .cite", has_text="[1]")
    expect(cite).to_be_visible(timeout=60_000)
    [citation] = [c for c in sites["kept"].ask("How much did tickets cost at the Rocket Festival gate?").citations if c.n == 1]
    text = sites["kept"].article(citation.article_id).text
    cite.click()
    mark = page.locator("article-assistant .reader mark.cited")
    expect(mark).to_have_text(citation.quote, timeout=30_000)
    # the characters before the mark are the article's before the span: the same place, not an earlier copy
    before = mark.evaluate("m => Array.from(m.previousSibling ? m.previousSibling.textContent : '').length")
    assert before == citation.start and text[citation.start:citation.end] == citation.quote


def test_feedback_from_the_widget_is_kept_for_that_site(page, sites):
    from playwright.sync_api import expect

    open_widget(page, sites["allowed"])
    question = "Where is Kerry due later Thursday?"
    ask(page, question)
    expect(page.locator("article-assistant .msg.bot .text")).to_contain_text("Moscow", timeout=60_000)
    before = len(sites["kept"].store.feedback.all())
    page.locator("article-assistant .rate.down").click()
    expect(page.locator("article-assistant .feedback-said")).to_have_text("Thanks for the feedback.", timeout=30_000)
    expect(page.locator("article-assistant .rate.down")).to_have_attribute("aria-pressed", "true")
    page.locator("article-assistant .comment textarea").fill("Too much detail.")
    page.locator("article-assistant .send-comment").click()
    expect(page.locator("article-assistant .feedback-said")).to_have_text("Thanks: your comment is sent.", timeout=30_000)
    records = sites["kept"].store.feedback.all()
    assert len(records) == before + 1  # one record: the comment was added to the rating
    assert (records[-1].question, records[-1].rating, records[-1].comment) == (question, "down", "Too much detail.")


def test_a_misconfigured_site_shows_visitors_a_plain_sentence(page, sites, artifacts_dir):
    from playwright.sync_api import expect

    warnings: list[str] = []
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    open_widget(page, sites["allowed"] + "/wrong-key")
    ask(page, "What does JIG stand for?")
    error = page.locator("article-assistant .error")
    expect(error).to_have_text(NOT_SET_UP, timeout=30_000)
    assert "Bearer" not in error.inner_text() and "API key" not in error.inner_text()
    assert any("missing or unknown API key" in w for w in warnings)  # the detail is for the site's developer
    page.screenshot(path=str(artifacts_dir / "widget-misconfigured.png"))
    # A data-collection the server does not hold is the site's setup too: no admin advice for visitors.
    open_widget(page, sites["allowed"] + "/wrong-collection")
    ask(page, "What does JIG stand for?")
    expect(error).to_have_text(NOT_SET_UP, timeout=30_000)
    assert any("filters.collections" in w for w in warnings)


def test_a_question_over_the_servers_limit_is_refused_with_the_limit_never_cut(page, sites):
    from playwright.sync_api import expect

    open_widget(page, sites["allowed"])
    too_long = "What does JIG stand for? " + "Please explain. " * 140  # 2,265 characters; the limit is 2,000
    ask(page, too_long)
    expect(page.locator("article-assistant .error")).to_contain_text("The question is too long: ", timeout=30_000)
    assert "characters, at most 2,000." in page.locator("article-assistant .error").inner_text()
    assert page.locator("article-assistant form.ask textarea").input_value() == too_long.strip()  # kept, to shorten
    assert page.locator("article-assistant .msg.user").count() == 0  # in the box only: a retry is not shown twice
    expect(page.locator("article-assistant .empty")).to_be_visible()  # the first question's log: its hint again


def test_the_widget_conversation_is_kept_on_the_server_for_this_visitor(page, sites):
    from playwright.sync_api import expect

    open_widget(page, sites["allowed"])
    ask(page, "What does JIG stand for?")
    expect(page.locator("article-assistant .msg.bot .text")).to_contain_text("Joint Implementation Group", timeout=60_000)
    expect(page.locator("article-assistant .citation")).to_contain_text("Kerry in Moscow")  # the final answer, saved
    # What this browser saved is dropped; its visitor token and conversation id stay: the server's copy comes back.
    page.evaluate("""() => { for (const key of Object.keys(localStorage)) {
        if (!key.startsWith("article-assistant:") || key.includes(":visitor:")) continue;
        const saved = JSON.parse(localStorage.getItem(key));
        localStorage.setItem(key, JSON.stringify({ open: true, conversation: saved.conversation, messages: [] }));
    } }""")
    page.reload()
    expect(page.locator("article-assistant .msg.user")).to_have_text("You: What does JIG stand for?", timeout=30_000)
    expect(page.locator("article-assistant .citation")).to_contain_text("Kerry in Moscow")
    ask(page, "Who will Kerry meet on Friday?")
    expect(page.locator("article-assistant .msg.bot .text").nth(1)).to_contain_text("Lavrov", timeout=60_000)
    # Streamed words show first; the citations come with the final answer event, sent once the server has kept it.
    expect(page.locator("article-assistant .msg.bot").nth(1).locator(".citation").first).to_be_visible(timeout=60_000)
    store, owner = sites["kept"].store.conversations, _widget_owner(sites, page)
    [kept] = [c for c in store.conversations(owner) if c.title == "What does JIG stand for?"]
    assert kept.answers == 2  # one conversation on the server, resumed with the restored history:
    assert [t.question for t in store.conversation(owner, kept.id).turns[1].history] == ["What does JIG stand for?"]


def test_each_article_page_keeps_a_conversation_of_its_own(page, sites):
    """On pages that say they are articles, a follow-up never leans on another article's conversation."""
    from playwright.sync_api import expect

    user_messages = page.locator("article-assistant .msg.user")
    open_widget(page, sites["allowed"] + "/news/kerry")
    prefix = f"article-assistant:{sites['assistant']}"
    # Twenty older articles' conversations kept already: the host site's storage holds twenty at most.
    page.evaluate("""([prefix, server]) => {
        const kept = Array.from({length: 20}, (_, n) => prefix + ":/news/old-" + n);
        for (const key of kept) localStorage.setItem(key, JSON.stringify({messages: [], conversation: "c"}));
        localStorage.setItem("article-assistant:articles:" + server, JSON.stringify(kept));
    }""", [prefix, sites["assistant"]])
    ask(page, "What does JIG stand for?")
    expect(page.locator("article-assistant .msg.bot .text")).to_contain_text("Joint Implementation Group", timeout=60_000)
    expect(page.locator("article-assistant .citation").first).to_be_visible(timeout=60_000)
    page.goto(sites["allowed"] + "/news/ferry")  # another article's page: a conversation of its own, open still
    expect(page.locator("article-assistant form.ask textarea")).to_be_visible()
    expect(user_messages).to_have_count(0)
    ask(page, "When does the night ferry return?")
    expect(page.locator("article-assistant .msg.bot .text")).to_contain_text("Friday", timeout=60_000)
    expect(page.locator("article-assistant .citation").first).to_be_visible(timeout=60_000)
    store, owner = sites["kept"].store.conversations, _widget_owner(sites, page)
    [ferry] = [c for c in store.conversations(owner) if c.title == "When does the night ferry return?"]
    assert store.conversation(owner, ferry.id).turns[0].history == []  # asked without the JIG exchange
    page.goto(sites["allowed"] + "/news/kerry/")  # back (the same page, with a slash): its conversation, still open
    expect(user_messages).to_have_text(["You: What does JIG stand for?"], timeout=30_000)
    page.goto(sites["allowed"] + "/")  # a page that is no article: the site's one conversation, neither of those
    expect(page.locator("article-assistant form.ask textarea")).to_be_visible()  # the panel stays open
    expect(user_messages).to_have_count(0)
    keys = page.evaluate("() => Object.keys(localStorage)")
    kept = [k for k in keys if k.startswith(prefix + ":/news/")]
    assert len(kept) == 20 and {prefix + ":/news/kerry", prefix + ":/news/ferry"} <= set(kept)
    assert prefix + ":/news/old-0" not in kept and prefix + ":/news/old-1" not in kept  # the least recent went
    page.goto(sites["allowed"] + "/news/quiet")  # opened and closed without a question: nothing kept for it
    page.locator("article-assistant .launcher").click()
    expect(page.locator("article-assistant form.ask textarea")).to_be_hidden()
    assert prefix + ":/news/quiet" not in page.evaluate("() => Object.keys(localStorage)")


def _widget_owner(sites, page) -> str:
    """The store's owner of this page's widget conversations: key, site and this browser's visitor token."""
    import hashlib

    from assistant.web.auth import fingerprint

    token = page.evaluate("() => localStorage.getItem(Object.keys(localStorage).find(k => k.includes(':visitor:')))")
    return f"key:{fingerprint(WIDGET_KEY)}@{sites['allowed']}#{hashlib.sha256(token.encode()).hexdigest()[:32]}"


def test_the_reader_works_in_the_widget_page_of_an_iframe(page, sites):
    from playwright.sync_api import expect

    page.goto(sites["allowed"] + "/iframe")  # /widget is the assistant's own page: its reads are same-origin
    frame = page.frame_locator("iframe")
    box = frame.locator("article-assistant form.ask textarea")
    box.fill("What does JIG stand for?")
    box.press("Enter")
    frame.locator("article-assistant .msg.bot .cite").first.click(timeout=60_000)
    expect(frame.locator("article-assistant .reader mark.cited")).to_contain_text("Joint Implementation Group",
                                                                                  timeout=30_000)


# From inside the /widget frame: its viewport, its page's scroll size, and where the parts of the panel are.
LAYOUT = """() => {
  const root = document.querySelector("article-assistant").shadowRoot;
  const box = selector => {
    const node = root.querySelector(selector), r = node.getBoundingClientRect();
    const hit = root.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);  // what a click there reaches
    return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width, height: r.height,
             reachable: hit === node || node.contains(hit) };
  };
  const page = document.documentElement;
  return { width: innerWidth, height: innerHeight, scrollWidth: page.scrollWidth, scrollHeight: page.scrollHeight,
           panel: box(".panel"), parts: { title: box(".title"), "New button": box(".new"),
           input: box("form.ask textarea"), "send button": box("form.ask .send") } };
}"""


@pytest.mark.parametrize(("width", "height"), IFRAME_SIZES, ids=[f"{w}x{h}" for w, h in IFRAME_SIZES])
def test_the_widget_page_fills_its_iframe_at_each_documented_size(page, sites, artifacts_dir, width, height):
    from playwright.sync_api import expect

    page.goto(f"{sites['allowed']}/iframe-sized?width={width}&height={height}")
    expect(page.frame_locator("iframe").locator("article-assistant .title")).to_have_text("Ask Example News")
    frame = page.locator("iframe").element_handle().content_frame()
    frame.wait_for_function("() => document.querySelector('article-assistant').shadowRoot"
                            ".querySelector('.frame').style.visibility === ''")  # its stylesheet has loaded
    layout = frame.evaluate(LAYOUT)
    page.screenshot(path=str(artifacts_dir / f"widget-iframe-{width}x{height}.png"))

    assert (layout["width"], layout["height"]) == (width, height)  # the frame's viewport is the iframe
    panel = layout["panel"]  # the panel is the whole frame: top-left at 0,0, its full width and height
    assert (panel["left"], panel["top"], panel["right"], panel["bottom"]) == (0, 0, width, height), layout
    assert (layout["scrollWidth"], layout["scrollHeight"]) == (width, height), layout  # nothing to scroll to
    for name, part in layout["parts"].items():
        assert part["width"] > 0 and part["height"] > 0, (name, layout)
        assert 0 <= part["left"] and part["right"] <= width, (name, layout)
        assert 0 <= part["top"] and part["bottom"] <= height, (name, layout)
        assert part["reachable"], (name, layout)  # on top, not covered by anything


def test_the_floating_panel_keeps_its_place_above_the_button(page, sites):
    from playwright.sync_api import expect

    open_widget(page, sites["allowed"])  # a 1100x760 window
    panel = page.locator("article-assistant .panel")
    expect(panel).to_be_visible()
    box, launcher = panel.bounding_box(), page.locator("article-assistant .launcher").bounding_box()
    assert (box["x"] + box["width"], box["y"] + box["height"]) == (1100 - 20, 760 - 88)  # right 20px, bottom 88px
    assert (box["width"], box["height"]) == (380, 560)
    assert launcher["y"] >= box["y"] + box["height"] and launcher["x"] + launcher["width"] == 1100 - 20


def font_dependent(text: str) -> list[str]:
    """Characters that need a symbol or emoji font: outside the BMP (👍), symbols (×, ←, ✓), emoji selectors."""
    return [c for c in text if ord(c) > 0xFFFF or unicodedata.category(c) in ("So", "Sm") or c in "\ufe0f\u200d"]


def test_the_widget_icons_are_svg_not_emoji(page, sites, artifacts_dir):
    from playwright.sync_api import expect

    open_widget(page, sites["allowed"])
    ask(page, "What does JIG stand for?")
    up, down = page.locator("article-assistant .rate.up"), page.locator("article-assistant .rate.down")
    expect(up).to_be_visible(timeout=60_000)
    # Each icon button keeps its accessible name, and shows a drawing, not a character.
    expect(page.get_by_role("button", name="Helpful", exact=True)).to_have_count(1)
    expect(page.get_by_role("button", name="Not helpful", exact=True)).to_have_count(1)
    expect(page.get_by_role("button", name="Close", exact=True)).to_be_visible()
    page.locator("article-assistant .citation .read").first.click()
    back = page.get_by_role("button", name="Back to the conversation", exact=True)
    expect(back).to_be_visible()
    for button in (up, down, page.locator("article-assistant .close"), back):
        svg = button.locator("svg")
        expect(svg).to_have_count(1)
        assert svg.get_attribute("aria-hidden") == "true"
        size = svg.bounding_box()
        assert size["width"] >= 12 and size["height"] >= 12  # drawn, at its size
        assert font_dependent(button.text_content()) == [], button.text_content()
    page.screenshot(path=str(artifacts_dir / "widget-icons-reader.png"))
    page.locator("article-assistant .back").click()
    page.screenshot(path=str(artifacts_dir / "widget-icons.png"))
    # No button of the widget depends on a symbol font, in the floating panel or in the launcher.
    texts = page.locator("article-assistant button").evaluate_all("bs => bs.map(b => b.textContent)")
    assert [t for t in texts if font_dependent(t)] == []
