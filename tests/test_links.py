"""Links as sources, against a real web server on 127.0.0.1 (http.server) that the tests allow explicitly."""

from __future__ import annotations

import gzip
import http.server
import ipaddress
import threading
import time

import httpx
import pytest
from servers import ServerThread

from assistant import errors
from assistant.ingest.feeds import MAX_ENTRIES, parse_feed
from assistant.ingest.fetch import _public, fetch
from assistant.models import link_or_path, page_link, parse_link
from assistant.web.app import create_app

ADMIN = "admin-key-links-0123456789"
PAGE = """<!doctype html><html><head><title>Night ferry returns</title>
<meta property="article:published_time" content="2024-03-08">
<script>var tracking = "menu script text";</script></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<article><h1>Night ferry returns</h1>
<p>The night ferry to Saltmarsh returns on Friday after a winter pause, the harbour office said.</p>
<p>Tickets for the {version} crossing go on sale at the harbour office on Monday morning.</p>
<p>The ferry carries up to 300 passengers and 40 cars on each crossing to the island.</p>
</article><footer>Copyright Harbour News. Subscribe to our newsletter.</footer></body></html>"""


CZECH = ("<html><head><title>Praha</title></head><body><article><p>Praha je hlavní město České republiky, řekl "
         "starosta, že se město rozroste o další čtvrť.</p></article></body></html>")
POLISH = "Żółw przeszedł przez ulicę\n\nŻółw przeszedł przez ulicę w Gdańsku, powiedział świadek.\n"
BOMB = gzip.compress(b"<p>" + b" " * (50 * 1024 * 1024))


class Site(http.server.ThreadingHTTPServer):
    """A small site: an article page (editable), robots.txt, and pages that misbehave."""

    def __init__(self):
        self.version = "first"
        self.requests: list[tuple[str, dict]] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests.append((self.path, dict(self.headers)))
                route = {
                    "/robots.txt": lambda: self._send(200, "text/plain", b"User-agent: *\nDisallow: /private/\n"),
                    "/story": self._story,
                    "/private/memo": lambda: self._send(200, "text/html", b"<p>secret</p>"),
                    "/loop": lambda: self._redirect("/loop2"),
                    "/loop2": lambda: self._redirect("/loop"),
                    "/moved": lambda: self._redirect("/story"),
                    "/huge": self._huge,
                    "/binary": lambda: self._send(200, "application/octet-stream", b"\x00\x01" * 100),
                    "/slow": self._slow,
                    # 50 kB that inflate to 50 MiB: stopped at the cap, never inflated whole
                    "/bomb": lambda: self._send(200, "text/html", BOMB, {"Content-Encoding": "gzip"}),
                    "/brotli": lambda: self._send(200, "text/html", b"\x0b\x02\x80<p>hi</p>\x03",
                                                  {"Content-Encoding": "br"}),
                    "/gzipped": lambda: self._send(200, "text/html", gzip.compress(PAGE.format(version="zipped")
                                                                                   .encode()),
                                                   {"Content-Encoding": "gzip"}),
                    "/to-userinfo": lambda: self._redirect(f"http://user:secret@{site.url[7:]}/story"),
                    "/to-no-link": lambda: self._redirect("http://[oops/"),  # urljoin raises ValueError on it
                    # the encoding said by the server alone (no <meta charset>, no byte order mark)
                    "/czech": lambda: self._send(200, "text/html; charset=iso-8859-2", CZECH.encode("iso-8859-2")),
                    "/polish.txt": lambda: self._send(200, "text/plain; charset=ISO-8859-2",
                                                      POLISH.encode("iso-8859-2")),
                    "/wide.txt": lambda: self._send(200, "text/plain; charset=utf-16le", POLISH.encode("utf-16-le")),
                    # an old server default, for a page in UTF-8: read as UTF-8, as it is valid UTF-8
                    "/mislabelled": lambda: self._send(200, "text/html; charset=iso-8859-1", CZECH.encode()),
                    "/canonical": lambda: self._send(200, "text/html", PAGE.replace(
                        "<title>", '<link rel="canonical" href="https://bank.example/login"><title>').format(
                        version="canonical").encode()),
                }.get(self.path, lambda: self._send(404, "text/plain", b"not found"))
                route()

            def _story(self):
                body = PAGE.format(version=site.version).encode()
                etag = f'"{site.version}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self._send(200, "text/html; charset=utf-8", body, {"ETag": etag})

            def _huge(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()  # no Content-Length: the cap is counted as it arrives
                try:
                    for _ in range(50):
                        self.wfile.write(b"<p>" + b"x" * (1024 * 1024) + b"</p>")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _slow(self):
                time.sleep(3)
                self._send(200, "text/html", b"<p>late</p>")

            def _redirect(self, to):
                self.send_response(302)
                self.send_header("Location", to)
                self.end_headers()

            def _send(self, status, content_type, body, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def site():
    server = Site()
    yield server
    server.shutdown()


@pytest.fixture
def allowed(make_assistant):
    return make_assistant(fetch_allow_hosts="127.0.0.1", fetch_timeout_s=1, max_file_bytes=5 * 1024 * 1024)


def test_a_link_is_ingested_answerable_unchanged_on_sync_and_replaced_when_it_changes(site, allowed):
    report = allowed.ingest(links=[parse_link(site.url + "/story")])
    assert report.ok and len(report.added) == 1
    [article] = allowed.articles()
    assert article.source == site.url + "/story" and article.url == site.url + "/story"
    assert article.published == "2024-03-08"
    text = allowed.article(article.id).text
    assert "menu script text" not in text and "Subscribe to our newsletter" not in text and "Sport" not in text
    answer = allowed.ask("How many passengers does the ferry carry?")
    assert "300 passengers" in answer.answer and answer.citations[0].url == site.url + "/story"
    assert site.requests[-1][1]["User-Agent"].startswith("article-assistant/")

    again = allowed.sync()
    assert again.unchanged == [article.id] and again.added == again.replaced == []
    assert site.requests[-1][1].get("If-None-Match") == '"first"'  # a conditional request

    site.version = "second"
    changed = allowed.sync()
    assert changed.replaced == [article.id]
    assert "second crossing" in allowed.article(article.id).text


def test_a_failed_sync_keeps_the_old_copy_and_says_why(site, allowed):
    assert allowed.ingest(links=[parse_link(site.url + "/story")]).ok
    before = allowed.article(allowed.articles()[0].id).text
    site.shutdown()
    site.server_close()
    report = allowed.sync()
    assert len(report.failed) == 1 and report.failed[0][0] == site.url + "/story"
    assert allowed.article(allowed.articles()[0].id).text == before


def test_a_links_fragment_names_the_same_article(site, allowed):
    """A #fragment is never sent to the site: given on the command line, the API, MCP or the page, it is dropped."""
    first = allowed.ingest(links=[link_or_path(site.url + "/story#comments")])
    again = allowed.ingest(links=[link_or_path(site.url + "/story")])
    assert len(first.added) == 1 and again.unchanged == first.added and len(allowed.articles()) == 1
    assert allowed.articles()[0].source == site.url + "/story"


def test_tracking_parameters_name_the_same_article_and_are_never_sent(site, allowed):
    """A link shared from a newsletter or a social site is the article itself; the rest of a query is kept as given."""
    shared = allowed.ingest(links=[link_or_path(site.url + "/story?utm_source=news&utm_medium=email&fbclid=Iw4R")])
    plain = allowed.ingest(links=[link_or_path(site.url + "/story")])
    assert len(shared.added) == 1 and plain.unchanged == shared.added and len(allowed.articles()) == 1
    assert {path for path, _ in site.requests} == {"/robots.txt", "/story"}
    assert page_link("https://ex.example/a?ref=main&UTM_Campaign=x&q=a%20b&gclid=1#top").url == \
        "https://ex.example/a?ref=main&q=a%20b"


def test_a_page_is_read_in_the_encoding_its_server_declares(site, allowed):
    report = allowed.ingest(links=[parse_link(site.url + path) for path in
                                   ("/czech", "/polish.txt", "/wide.txt", "/mislabelled")])
    assert report.ok and len(report.added) == 4, report.failed
    texts = {a.source.rsplit("/", 1)[1]: allowed.article(a.id).text for a in allowed.articles()}
    assert "hlavní město České republiky, řekl starosta, že" in texts["czech"]
    assert "Żółw przeszedł przez ulicę w Gdańsku" in texts["polish.txt"] and texts["wide.txt"] == texts["polish.txt"]
    assert "hlavní město České" in texts["mislabelled"]


def test_private_addresses_are_refused_unless_allowed(site, make_assistant):
    refused = make_assistant().ingest(links=[parse_link(site.url + "/story")])
    assert refused.failed and "private or local address" in refused.failed[0][1]
    assert "fetch_allow_hosts" in refused.failed[0][1] and refused.added == []


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/loop", "more than 5 redirects"),
        ("/huge", "over the 5,242,880-byte limit"),
        ("/binary", "is application/octet-stream, not a web page"),
        ("/slow", "no answer within 1 s"),
        ("/private/memo", "robots.txt"),
        ("/missing", "HTTP 404"),
        ("/bomb", "over the 5,242,880-byte limit"),
        ("/brotli", "content encoding br, which is not read"),
        ("/to-userinfo", "redirects to a link with a user name or password"),
        ("/to-no-link", "redirects to a link that is not one"),
    ],
)
def test_bad_links_are_one_line_failures_and_the_index_is_unchanged(site, allowed, path, message):
    assert allowed.ingest(links=[parse_link(site.url + "/moved")]).ok  # a redirect to the story is followed
    before = [(a.id, a.chunks) for a in allowed.articles()]
    started = time.monotonic()
    report = allowed.ingest(links=[parse_link(site.url + path)])
    assert report.failed and report.failed[0][0] == site.url + path and message in report.failed[0][1]
    assert time.monotonic() - started < 10
    assert [(a.id, a.chunks) for a in allowed.articles()] == before


@pytest.mark.parametrize("text", ["ftp://example.invalid/x", "HTTP://../etc", "/etc/passwd", "seeds/", "file:///etc",
                                  "http:///x", "https://user:pw@example.com/", " ", "http://exa mple.com/"])
def test_what_is_not_a_link_is_refused_by_its_text_alone(text):
    with pytest.raises(errors.InvalidRequest) as refused:
        parse_link(text, "urls[0]")
    assert str(refused.value).startswith("urls[0]: ") and "link" in str(refused.value)
    with pytest.raises(TypeError):  # nothing but a parsed Link is ever fetched
        fetch(text, max_bytes=1000, timeout_s=1)


def test_links_through_the_api(site, tmp_path):
    from assistant.core import Assistant
    from assistant.settings import load_settings

    assistant = Assistant(load_settings(index_dir=tmp_path / "index", admin_keys=ADMIN, fetch_allow_hosts="127.0.0.1"))
    with ServerThread(create_app(assistant)) as server:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60) as api:
            done = api.post("/api/articles?wait=true", json={"urls": [site.url + "/story", site.url + "/binary"]})
            assert done.status_code == 200, done.text
            report = done.json()
            assert len(report["added"]) == 1 and [f["file"] for f in report["failed"]] == [site.url + "/binary"]
            bad = api.post("/api/articles", json={"urls": "not-a-list"})
            assert bad.status_code == 422 and "urls" in bad.json()["error"]
            answer = api.post("/api/ask", json={"question": "When does the night ferry return?"}).json()
            assert "Friday" in answer["answer"]


def test_links_from_the_command_line(site, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    cli = str(Path(sys.executable).parent / "assistant")
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "index"), "ASSISTANT_FETCH_ALLOW_HOSTS": "127.0.0.1"}
    added = subprocess.run([cli, "ingest", site.url + "/story"], env=env, capture_output=True, text=True, timeout=120)
    assert added.returncode == 0 and "added 1" in added.stderr, added.stderr
    synced = subprocess.run([cli, "sync"], env=env, capture_output=True, text=True, timeout=120)
    assert synced.returncode == 0 and "unchanged 1" in synced.stderr
    refused = subprocess.run([cli, "ingest", site.url + "/story"], env={**env, "ASSISTANT_FETCH_ALLOW_HOSTS": ""},
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "private or local address" in refused.stderr and "Traceback" not in refused.stderr


def test_a_link_from_the_chat_page_needs_the_admin_sign_in(site, tmp_path):
    from assistant.core import Assistant
    from assistant.settings import load_settings

    assistant = Assistant(load_settings(index_dir=tmp_path / "index", admin_keys=ADMIN, fetch_allow_hosts="127.0.0.1"))
    with ServerThread(create_app(assistant)) as server, httpx.Client(base_url=server.url, timeout=60) as browser:
        def call(url: str) -> str:
            event_id = browser.post("/gradio_api/call/ingest_link", json={"data": [url]}).json()["event_id"]
            return browser.get(f"/gradio_api/call/ingest_link/{event_id}").text

        assert "sign in with the admin key" in call(site.url + "/story") and assistant.articles() == []
        assert browser.post("/sign-in", data={"key": ADMIN}).status_code in (200, 303)
        assert "Added 1" in call(site.url + "/story") and len(assistant.articles()) == 1


class TricklingRobots(http.server.ThreadingHTTPServer):
    """A site whose robots.txt comes a byte at a time (each within the wait, all of it far past any deadline)."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                try:
                    for _ in range(600):
                        self.wfile.write(b"#")
                        self.wfile.flush()
                        time.sleep(0.1)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


def test_a_compressed_page_is_read_and_its_link_is_where_it_came_from_unless_on_the_same_site(site, allowed):
    assert allowed.ingest(links=[parse_link(site.url + "/gzipped")]).ok
    assert site.requests[-1][1]["Accept-Encoding"] == "gzip, deflate"  # only what is inflated with a bound
    assert "Tickets for the zipped crossing" in allowed.article(allowed.articles()[0].id).text
    assert allowed.ingest(links=[parse_link(site.url + "/canonical")]).ok
    spoofed = next(a for a in allowed.articles() if a.source.endswith("/canonical"))
    assert spoofed.url == site.url + "/canonical"  # not https://bank.example/login, another site's


@pytest.mark.fast
@pytest.mark.parametrize(("address", "public"), [
    ("64:ff9b::7f00:1", False), ("64:ff9b::a9fe:a9fe", False), ("2002:7f00:1::", False), ("::127.0.0.1", False),
    ("::ffff:10.0.0.1", False), ("fec0::1", False), ("64:ff9b:1::a00:1", False), ("fe80::1", False),
    ("64:ff9b::808:808", True), ("2002:808:808::", True), ("2606:4700::1111", True), ("8.8.8.8", True),
])
def test_an_ipv6_address_that_carries_an_ipv4_one_is_judged_by_it(address, public):
    assert _public(ipaddress.ip_address(address)) is public


@pytest.mark.fast
def test_a_feed_listing_too_many_items_is_refused_before_it_is_parsed():
    items = "".join(f"<item><title>T{i}</title><guid>g{i}</guid></item>" for i in range(MAX_ENTRIES + 1))
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    wide = [body.decode().replace('"1.0"?>', f'"1.0" encoding="{codec}"?>').encode(codec)
            for codec in ("utf-16", "utf-16-le", "utf-16-be", "utf-32")]  # with a byte order mark, and without
    for sent in (body, *wide):
        started = time.monotonic()
        with pytest.raises(errors.FetchError, match="lists about 5,001 items; a feed may list at most 5,000"):
            parse_feed(sent, "https://example.com/feed", 100, "application/rss+xml")
        assert time.monotonic() - started < 1  # refused unparsed (parsing takes seconds)
    few = '<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><title>t</title><item><title>Ferry' \
          '</title><guid>g</guid><description>The ferry leaves at seven.</description></item></channel></rss>'
    assert [item.title for item in parse_feed(few.encode("utf-16"), "https://example.com/feed", 100).items] == ["Ferry"]


@pytest.mark.fast
def test_a_feed_declaring_entities_is_refused_before_it_expands():
    """633 bytes of nested entities were 100,000 items past the count (21 s, 189 MB)."""
    laughs = "".join(f'<!ENTITY e{i} "&e{i - 1};&e{i - 1};&e{i - 1};&e{i - 1};&e{i - 1};">' for i in range(1, 9))
    body = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e0 "<item><title>x</title><guid>g</guid></item>">'
            f'{laughs}]><rss version="2.0"><channel><title>t</title>&e8;</channel></rss>')
    for sent in (body.encode(), body.replace('"1.0"?>', '"1.0" encoding="utf-16"?>').encode("utf-16")):
        started = time.monotonic()
        with pytest.raises(errors.FetchError, match=r"declares XML entities \(<!ENTITY …>\)"):
            parse_feed(sent, "https://example.com/feed", 100, "application/rss+xml")
        assert time.monotonic() - started < 1


def test_a_robots_txt_that_trickles_in_meets_the_fetch_deadline():
    site = TricklingRobots()
    try:
        started = time.monotonic()
        with pytest.raises(errors.FetchError, match="2-second deadline"):
            fetch(parse_link(site.url + "/story"), max_bytes=100_000, timeout_s=1, deadline_s=2,
                  allow_hosts=frozenset({"127.0.0.1"}))
        assert time.monotonic() - started < 6  # not the minute the robots.txt would take
    finally:
        site.shutdown()
