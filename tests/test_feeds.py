"""Feeds (#38): RSS and Atom feeds served by the test on 127.0.0.1 (allowed by fetch_allow_hosts), ingested once
and followed: a real `assistant serve` polls them on schedule with conditional requests; items are read from
the feed's own full text or fetched from their pages like any link; a feed that is not XML, too large or too
slow gets a clear error and leaves its collection as it was. The lease that lets exactly one replica poll a
feed is one UPDATE, raced here on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import subprocess
import threading
import time
from datetime import datetime
from email.utils import formatdate

import httpx
import pytest
from conftest import ROOT
from servers import CLI, ServeProcess, client_of_its_own

from assistant import errors
from assistant.core import Assistant
from assistant.feeder import Feeds
from assistant.index.feed_table import FeedTable
from assistant.index.manifest import Manifest
from assistant.models import Filters, parse_link
from assistant.settings import load_settings
from bench.backing_servers import PostgresServer

ADMIN = "admin-feeds-0123456789"


def item(n: int, title: str, text: str | None, *, link: str | None = None, day: int = 1) -> dict:
    return {"n": n, "title": title, "text": text, "link": link, "day": day}


def rss(site: FeedSite, items: list[dict]) -> bytes:
    """RSS 2.0: an item with text carries it whole (content:encoded); one without only a summary and its link."""
    out = []
    for i in items:
        link = i["link"] or f"{site.url}/story-{i['n']}.html"
        body = (f"<content:encoded><![CDATA[<p>{i['text']}</p>]]></content:encoded>" if i["text"]
                else "<description>Read it on the site.</description>")
        date = formatdate(1_796_000_000 + i["day"] * 86400, usegmt=True)
        out.append(f"<item><title>{i['title']}</title><link>{link}</link><guid>story-{i['n']}</guid>"
                   f"<pubDate>{date}</pubDate>{body}</item>")
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Wend Gazette</title>'
            f"<link>{site.url}/</link><description>Local news</description>{''.join(out)}</channel></rss>").encode()


class FeedSite:
    """A site on 127.0.0.1 whose pages the test sets: (content type, body, delay); ETags and 304s like a real one."""

    def __init__(self):
        self.pages: dict[str, tuple[str, bytes, float]] = {}
        self.log: list[tuple[str, str | None, int]] = []  # (path, If-None-Match, status)
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the stdlib's name
                if self.path not in site.pages:
                    self.send_response(404)
                    self.end_headers()
                    site.log.append((self.path, None, 404))
                    return
                content_type, body, delay = site.pages[self.path]
                time.sleep(delay)
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                asked = self.headers.get("If-None-Match")
                status = 304 if asked == etag else 200
                site.log.append((self.path, asked, status))
                self.send_response(status)
                self.send_header("ETag", etag)
                if status == 200:
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status == 200:
                    try:
                        self.wfile.write(body)
                    except (BrokenPipeError, ConnectionResetError):
                        pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(self, path: str, body: bytes | str, content_type: str = "text/html", delay: float = 0.0) -> str:
        self.pages[path] = (content_type, body.encode() if isinstance(body, str) else body, delay)
        return self.url + path

    def feed(self, path: str, items: list[dict]) -> str:
        return self.page(path, rss(self, items), "application/rss+xml")

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="module")
def site():
    site = FeedSite()
    yield site
    site.close()


FIRST = [
    item(1, "Council approves tidal barrier", "The harbour council approved the Wendgate tidal barrier on Tuesday. "
         "It will cost 41 million euros and should open in 2031.", day=1),
    item(2, "Library reopens", "The central library reopened on Saturday after two years of repairs to its roof; "
         "its reading room seats four hundred people.", day=2),
    item(3, "Ferry timetable changes", None, day=3),  # no text in the feed: its page is fetched
]
STORY_3 = ("<html><head><title>Ferry timetable changes</title></head><body><article><p>The ferry to Ostra will leave "
           "at seven in the morning on weekdays from March, the harbour office said on Monday.</p></article></body></html>")
NEW = [
    item(4, "Tram line extended", "The number 4 tram now runs to the harbour; the extension is 2.3 kilometres long "
         "and opened on Friday.", day=4),
    item(5, "Market moves to the quay", "The Saturday market moves to the north quay in April, with room for "
         "eighty stalls, the council said.", day=5),
]
CHANGED_1 = item(1, "Council approves tidal barrier", "The harbour council approved the Wendgate tidal barrier on "
                 "Tuesday. Its cost has risen to 44 million euros and it should open in 2032.", day=1)


# --- one ingest of a feed, on the Assistant ---------------------------------------------------------------

@pytest.fixture
def feeding(make_assistant):
    return make_assistant(fetch_allow_hosts="127.0.0.1", feed_min_every_s=1)


def test_ingesting_a_feed_adds_its_items_with_their_title_link_and_date(feeding, site):
    site.page("/story-3.html", STORY_3)
    url = site.feed("/one.xml", FIRST)
    report = feeding.ingest(links=[parse_link(url)])
    assert report.ok and len(report.added) == 3, report
    articles = {a.title: a for a in feeding.articles()}
    assert set(articles) == {"Council approves tidal barrier", "Library reopens", "Ferry timetable changes"}
    ferry = articles["Ferry timetable changes"]
    assert ferry.url == f"{site.url}/story-3.html" and ferry.published == "2026-12-03"
    assert "seven in the morning" in feeding.article(ferry.id).text  # fetched from its page
    assert "41 million" in feeding.ask("How much will the Wendgate tidal barrier cost?").answer
    again = feeding.ingest(links=[parse_link(url)])
    assert sorted(again.unchanged) == sorted(report.added) and not again.added  # nothing duplicated


def test_an_item_page_is_fetched_with_the_checks_of_any_link(feeding, site):
    url = site.feed("/mixed.xml", [*FIRST[:2], item(9, "Elsewhere", None, link="http://10.1.2.3/private.html")])
    report = feeding.ingest(links=[parse_link(url)])
    assert len(report.added) == 2
    assert report.failed == [("http://10.1.2.3/private.html",
                              "10.1.2.3 is a private or local address (10.1.2.3); set fetch_allow_hosts (ASSISTANT_FETCH_ALLOW_HOSTS) to fetch from it")]


def test_a_feed_that_fails_changes_nothing_and_says_why(feeding, site):
    assert feeding.ingest(links=[parse_link(site.feed("/ok.xml", FIRST[:1]))]).ok
    before = [a.id for a in feeding.articles()]
    broken = site.page("/broken.xml", b"<rss version='2.0'><channel><item><title>x</tit", "application/rss+xml")
    report = feeding.ingest(links=[parse_link(broken)])
    assert report.failed and not report.added
    assert "is not an RSS or Atom feed (served as application/rss+xml; as XML:" in report.failed[0][1]
    assert [a.id for a in feeding.articles()] == before


def test_prune_takes_items_that_left_the_feed_out_and_without_it_they_stay(feeding, site):
    feeding.create_collection("kept")
    feeding.create_collection("pruned")
    site.page("/story-3.html", STORY_3)
    url = site.feed("/prune.xml", FIRST)
    kept = feeding.feeds.add(url, "kept", 60)
    pruned = feeding.feeds.add(url, "pruned", 60, prune=True)
    for feed in (kept, pruned):
        assert feeding.poll_feed(feed.id, force=True).last_error is None
    site.feed("/prune.xml", FIRST[1:])  # the barrier story leaves the feed
    assert "pruned 1" in feeding.poll_feed(pruned.id, force=True).last_report
    assert feeding.poll_feed(kept.id, force=True).last_error is None
    titles = lambda name: {a.title for a in feeding.articles([name])}  # noqa: E731
    assert "Council approves tidal barrier" in titles("kept")
    assert "Council approves tidal barrier" not in titles("pruned")
    with pytest.raises(errors.InvalidRequest, match="more often than feed_min_every_s"):
        feeding.feeds.add(url + "?x", "kept", 0.5)
    with pytest.raises(errors.CollectionNotFound):
        feeding.feeds.add(url, "nope", 60)
    with pytest.raises(errors.CollectionConflict, match="goes in that collection already"):
        feeding.feeds.add(url, "kept", 60)


def test_a_failed_item_is_tried_again_until_it_lands_and_its_error_stays(feeding, site):
    feeding.create_collection("retry")
    url = site.feed("/retry.xml", [FIRST[0], item(7, "Pier closes", None, day=2)])  # its page is not there yet
    feed = feeding.feeds.add(url, "retry", 60)
    assert "1 of 2 items failed" in feeding.poll_feed(feed.id, force=True).last_error
    again = feeding.poll_feed(feed.id, force=True)  # the feed is read whole again (no 304), the item tried again
    assert "1 of 2 items failed" in again.last_error
    assert [status for path, _, status in site.log if path == "/retry.xml"][-1] == 200
    assert len([path for path, _, _ in site.log if path == "/story-7.html"]) == 2
    site.page("/story-7.html", "<html><body><article><p>The north pier closes for repairs on Monday, the harbour "
                               "office said, and reopens in May.</p></article></body></html>")
    landed = feeding.poll_feed(feed.id, force=True)
    assert landed.last_error is None and "added 1" in landed.last_report
    assert "Pier closes" in {a.title for a in feeding.articles(["retry"])}


def test_an_item_whose_page_changed_with_only_its_time_is_read_again(feeding, site):
    feeding.create_collection("edits")
    site.page("/story-8.html", "<html><body><article><p>The dam inspection is led by Ivan Moretti, the water "
                               "board said on Monday.</p></article></body></html>")
    url = site.feed("/edits.xml", [item(8, "Dam inspection", None, day=1)])
    feed = feeding.feeds.add(url, "edits", 60)
    assert feeding.poll_feed(feed.id, force=True).last_error is None
    site.page("/story-8.html", "<html><body><article><p>The dam inspection is led by Sofia Lind, the water board "
                               "said on Monday.</p></article></body></html>")
    site.feed("/edits.xml", [item(8, "Dam inspection", None, day=1.25)])  # the same day, six hours later
    assert "replaced 1" in feeding.poll_feed(feed.id, force=True).last_report


def test_an_items_new_title_or_date_in_the_feed_reaches_the_article(feeding, site):
    """Read by its page (ETag and all) or from the feed's own text, the feed says its title and date."""
    feeding.create_collection("retitled")
    site.page("/story-9.html", "<html><body><article><p>The bridge repairs will cost 3 million euros, the council "
                               "said on Monday.</p></article></body></html>")
    url = site.feed("/retitled.xml", [item(9, "Bridge repairs approved", None, day=1),
                                      item(10, "Tram depot opens", "The tram depot opened on Friday.", day=1)])
    feed = feeding.feeds.add(url, "retitled", 60)
    assert feeding.poll_feed(feed.id, force=True).last_error is None
    site.feed("/retitled.xml", [item(9, "Bridge repairs approved, at a cost", None, day=2),
                                item(10, "Tram depot opens early", "The tram depot opened on Friday.", day=3)])
    assert "replaced 2" in feeding.poll_feed(feed.id, force=True).last_report
    said = {a.title: a.published for a in feeding.articles(["retitled"])}
    assert said == {"Bridge repairs approved, at a cost": "2026-12-02", "Tram depot opens early": "2026-12-03"}
    asked = len(site.log)
    feeding.ingest(links=[parse_link(url)], collection="retitled")  # the feed given again: its pages asked as links
    assert [status for path, _, status in site.log[asked:] if path == "/story-9.html"] == [304]


def test_prune_keeps_items_still_listed_beyond_the_newest_read(make_assistant, site):
    few = make_assistant(fetch_allow_hosts="127.0.0.1", feed_min_every_s=1, feed_max_items=2)
    few.create_collection("window")
    url = site.feed("/window.xml", [FIRST[0], FIRST[1], NEW[0]])  # days 1, 2, 4: the newest two are read
    feed = few.feeds.add(url, "window", 60, prune=True)
    assert few.poll_feed(feed.id, force=True).last_error is None
    site.feed("/window.xml", [FIRST[0], FIRST[1], NEW[0], NEW[1]])  # a newer item; the library's is still listed
    assert "pruned 0" in few.poll_feed(feed.id, force=True).last_report
    site.feed("/window.xml", [NEW[0], NEW[1]])  # now it has left the feed
    assert "pruned 1" in few.poll_feed(feed.id, force=True).last_report


def test_prune_keeps_an_item_another_feed_of_the_collection_still_lists(feeding, site):
    feeding.create_collection("desk")
    first = feeding.feeds.add(site.feed("/desk-a.xml", FIRST[:2]), "desk", 60, prune=True)
    second = feeding.feeds.add(site.feed("/desk-b.xml", [FIRST[0], NEW[0]]), "desk", 60, prune=True)
    for feed in (first, second):
        assert feeding.poll_feed(feed.id, force=True).last_error is None
    site.feed("/desk-a.xml", FIRST[1:2])  # the barrier story leaves the first feed, not the second
    assert "pruned 0" in feeding.poll_feed(first.id, force=True).last_report
    assert "Council approves tidal barrier" in {a.title for a in feeding.articles(["desk"])}
    site.feed("/desk-b.xml", [NEW[0]])  # now no feed of the desk lists it
    assert "pruned 1" in feeding.poll_feed(second.id, force=True).last_report
    assert "Council approves tidal barrier" not in {a.title for a in feeding.articles(["desk"])}


def test_a_feed_cut_short_or_emptied_prunes_nothing(feeding, site):
    feeding.create_collection("glitch")
    whole = rss(site, FIRST[:2] + NEW)
    feed = feeding.feeds.add(site.page("/glitch.xml", whole, "application/rss+xml"), "glitch", 60, prune=True)
    assert feeding.poll_feed(feed.id, force=True).last_error is None
    titles = {a.title for a in feeding.articles(["glitch"])}
    cut = whole[: whole.rindex(b"<item>") + 40]  # the connection dropped inside the last item
    site.page("/glitch.xml", cut, "application/rss+xml")
    polled = feeding.poll_feed(feed.id, force=True)
    assert "not pruned: the feed is malformed" in polled.last_report
    site.feed("/glitch.xml", [])  # a well-formed channel with no items, for a moment
    assert "not pruned: the feed lists no items" in feeding.poll_feed(feed.id, force=True).last_report
    assert {a.title for a in feeding.articles(["glitch"])} == titles
    # A flaw feedparser reads past (an HTML entity in a title), the feed whole: one item in, one out, pruned as
    # ever (the item the cut feed did not list was still the feed's, so it is the one taken out now).
    fresh = item(9, "Pier reopens&nbsp;today", "The north pier reopened on Friday after its repairs.", day=6)
    site.feed("/glitch.xml", FIRST[1:2] + NEW + [fresh])
    polled = feeding.poll_feed(feed.id, force=True)
    assert "pruned 1" in polled.last_report, polled.last_report
    assert "Council approves tidal barrier" not in {a.title for a in feeding.articles(["glitch"])}


def test_a_feed_removed_while_polled_leaves_the_round_to_poll_the_others(feeding, site):
    slow = feeding.feeds.add(site.page("/slow-feed.xml", rss(site, FIRST[:1]), "application/rss+xml", delay=1.5),
                             "default", 60)
    other = feeding.feeds.add(site.feed("/other-feed.xml", NEW[:1]), "default", 60)
    remover = threading.Timer(0.5, lambda: Feeds(feeding.settings).remove(slow.id))
    remover.start()
    polled = feeding.poll_due_feeds()  # the slow feed first (added first): removed while it is fetched
    remover.join()
    assert [f.id for f in polled] == [slow.id, other.id]
    assert polled[1].last_error is None and "added 1" in polled[1].last_report
    assert [f.id for f in feeding.feeds.list()] == [other.id]


def test_a_slow_site_delays_its_own_feed_only(feeding, site):
    """Due feeds are polled at once (feed_poll_workers): the quick one is done while the slow site still sends."""
    slow = feeding.feeds.add(site.page("/slow-desk.xml", rss(site, FIRST[:1]), "application/rss+xml", delay=4),
                             "default", 60)
    quick = feeding.feeds.add(site.feed("/quick-desk.xml", NEW[1:2]), "default", 60)
    polled = feeding.poll_due_feeds()
    assert [f.id for f in polled] == [slow.id, quick.id]  # in the order they fell due
    assert [f.last_error for f in polled] == [None, None]
    finished = {f.id: datetime.fromisoformat(f.last_polled_at) for f in polled}
    assert finished[quick.id] < finished[slow.id]  # the slow feed came due first, and finished last
    for feed in (slow, quick):
        feeding.feeds.remove(feed.id)


def test_the_feeds_of_a_collection_one_of_them_prunes_are_polled_one_after_another(feeding, site):
    """A prune takes out what no sibling lists as of its last poll: a sibling's poll under way (which may just
    have added the item) finishes first, or the item would be taken out and never read again."""
    feeding.create_collection("desk")
    slow = feeding.feeds.add(site.page("/slow-pruning.xml", rss(site, FIRST[:1]), "application/rss+xml", delay=3),
                             "desk", 60, prune=True)
    quick = feeding.feeds.add(site.feed("/quick-sibling.xml", NEW[1:2]), "desk", 60)
    elsewhere = feeding.feeds.add(site.feed("/quick-elsewhere.xml", NEW[:1]), "default", 60)
    polled = feeding.poll_due_feeds()
    assert [f.id for f in polled] == [slow.id, quick.id, elsewhere.id]
    assert [f.last_error for f in polled] == [None, None, None]
    finished = {f.id: datetime.fromisoformat(f.last_polled_at) for f in polled}
    assert finished[slow.id] <= finished[quick.id]  # in turn, within the collection
    assert finished[elsewhere.id] < finished[slow.id]  # beside it, outside
    for feed in (slow, quick, elsewhere):
        feeding.feeds.remove(feed.id)


# --- the lease: exactly one replica polls a feed at a time -------------------------------------------------

@pytest.fixture(scope="module")
def postgres():
    with PostgresServer() as server:
        yield server


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_of_replicas_racing_for_a_due_feed_exactly_one_takes_it(database, tmp_path, request):
    url = (request.getfixturevalue("postgres").create_database("leases") if database == "postgresql"
           else f"sqlite:///{tmp_path / 'manifest.sqlite3'}")
    manifest = Manifest(url)
    feeds = Feeds(load_settings(index_dir=tmp_path, database_url=url, feed_min_every_s=1), manifest)
    feed = feeds.add("https://news.example/feed.xml", "default", 60)
    tables = [FeedTable(Manifest(url)) for _ in range(8)]
    start = threading.Barrier(len(tables))
    won = [False] * len(tables)

    def race(i: int) -> None:
        start.wait()
        won[i] = tables[i].take(feed.id, f"replica-{i}", lease_s=30)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(tables))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(won) == 1
    winner = won.index(True)
    assert feed.id not in tables[0].due()  # held: nobody else sees it due
    tables[(winner + 1) % 8].finish(feed.id, "not-the-holder", ok=True, error=None, report="ignored")
    assert tables[0].state(feed.id).info.last_report is None  # only the holder's outcome counts
    tables[winner].finish(feed.id, f"replica-{winner}", ok=True, error=None, report="added 1")
    assert tables[0].state(feed.id).info.last_report == "added 1"
    assert not tables[1].take(feed.id, "replica-1", lease_s=30)  # not due again for 60 s
    assert tables[1].take(feed.id, "replica-1", lease_s=0.01, due_only=False)
    time.sleep(0.05)  # a holder that died: its lease runs out and another replica takes the feed over
    assert tables[2].take(feed.id, "replica-2", lease_s=30, due_only=False)


def test_a_poll_longer_than_its_lease_keeps_the_feed(tmp_path):
    url = f"sqlite:///{tmp_path / 'manifest.sqlite3'}"
    feeds = Feeds(load_settings(index_dir=tmp_path, database_url=url, feed_min_every_s=1), Manifest(url))
    feed = feeds.add("https://news.example/feed.xml", "default", 60)
    holder, other = FeedTable(Manifest(url)), FeedTable(Manifest(url))
    assert holder.take(feed.id, "replica-1", lease_s=0.3, due_only=False)
    with holder.held(feed.id, "replica-1", lease_s=0.3):  # renewed every 0.1 s
        time.sleep(1.0)  # three leases long
        assert not other.take(feed.id, "replica-2", lease_s=30, due_only=False)
    time.sleep(0.4)  # no longer renewed: it runs out as a dead replica's would
    assert other.take(feed.id, "replica-2", lease_s=30, due_only=False)
    assert not holder.renew(feed.id, "replica-1", 0.3)  # taken over: the old holder knows it


# --- a running server polls its feeds ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory, site):
    root = tmp_path_factory.mktemp("feeds")
    env = {
        "ASSISTANT_ADMIN_KEYS": ADMIN, "ASSISTANT_FETCH_ALLOW_HOSTS": "127.0.0.1", "ASSISTANT_FEED_POLL_S": "0.5",
        "ASSISTANT_FEED_MIN_EVERY_S": "1", "ASSISTANT_MAX_FILE_BYTES": "200000", "ASSISTANT_FETCH_TIMEOUT_S": "1.5",
        "ASSISTANT_FETCH_DEADLINE_S": "4", "ASSISTANT_API_RATE_PER_MINUTE": "10000",
    }
    with ServeProcess(root, env) as server:
        yield server


def wait_for_poll(api: httpx.Client, feed_id: int, after: str | None, timeout: float = 60,
                  changed: bool = False) -> dict:
    """The feed once it has been polled since ``after`` (its last_polled_at then); ``changed``: by a poll that
    found the feed changed (the server polls every second, so one may come before the test changes the feed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        feed = next(f for f in api.get("/api/feeds").json() if f["id"] == feed_id)
        if feed["last_polled_at"] and feed["last_polled_at"] != after and not (
                changed and feed["last_report"] == "not modified"):
            return feed
        time.sleep(0.3)
    raise AssertionError(f"feed {feed_id} was not polled within {timeout} s")


def ask(api: httpx.Client, question: str) -> dict:
    answered = api.post("/api/ask", json={"question": question, "filters": {"collections": ["news"]}})
    assert answered.status_code == 200, answered.text
    return answered.json()


def test_a_server_polls_its_feed_on_schedule_and_new_items_become_answerable(served, site):
    site.page("/story-3.html", STORY_3)
    url = site.feed("/news.xml", FIRST)
    since = len(site.log)
    with client_of_its_own(served.url, Authorization=f"Bearer {ADMIN}") as api:
        assert api.post("/api/collections", json={"name": "news"}).status_code == 201
        added = api.post("/api/feeds", json={"url": url, "collection": "news", "every": "1s"})
        assert added.status_code == 201, added.text
        feed_id = added.json()["id"]
        first = wait_for_poll(api, feed_id, None)
        assert first["last_error"] is None and first["last_report"].startswith("added 3,"), first
        assert "seven in the morning" in ask(api, "When will the ferry to Ostra leave?")["answer"]

        # Two new items and one changed: the next poll adds two, replaces one, reads the rest not at all.
        site.feed("/news.xml", [CHANGED_1, *FIRST[1:], *NEW])
        second = wait_for_poll(api, feed_id, first["last_polled_at"], changed=True)
        assert second["last_report"] == "added 2, replaced 1, unchanged 2, failed 0", second
        assert "2.3 kilometres" in ask(api, "How long is the tram extension to the harbour?")["answer"]
        assert "north quay" in ask(api, "Where does the Saturday market move to?")["answer"]
        assert "44 million" in ask(api, "How much will the Wendgate tidal barrier cost?")["answer"]
        news = api.get("/api/articles?collection=news").json()
        assert len(news) == 5 and len({a["title"] for a in news}) == 5  # nothing duplicated
        assert [p for p, _, status in site.log[since:] if p == "/story-3.html"] == ["/story-3.html"]  # read once

        # Unchanged since: a conditional request, answered 304, and nothing else.
        third = wait_for_poll(api, feed_id, second["last_polled_at"])
        assert third["last_report"] == "not modified"
        assert any(p == "/news.xml" and asked and status == 304 for p, asked, status in site.log)

        # Items that leave the feed stay in the collection (no --prune).
        site.feed("/news.xml", NEW)
        wait_for_poll(api, feed_id, third["last_polled_at"], changed=True)
        assert len(api.get("/api/articles?collection=news").json()) == 5


@pytest.mark.parametrize("kind", ["not XML", "too large", "too slow"])
def test_a_feed_that_fails_on_the_server_says_why_and_leaves_its_collection_as_it_was(served, site, kind):
    big = rss(site, [item(n, f"Story {n}", "word " * 400, day=n % 28) for n in range(120)])
    path, expected = {
        "not XML": (site.page("/page.html", "<html><body><p>Just a page.</p></body></html>"),
                    "is not an RSS or Atom feed (served as text/html)"),
        "too large": (site.page("/big.xml", big, "application/rss+xml"), "is over the 200,000-byte limit"),
        "too slow": (site.page("/slow.xml", rss(site, FIRST), "application/rss+xml", delay=4),
                     "no answer within 1.5 s"),
    }[kind]
    with client_of_its_own(served.url, Authorization=f"Bearer {ADMIN}") as api:
        if api.post("/api/collections", json={"name": "wire"}).status_code == 201:
            assert api.post("/api/articles?collection=wire&wait=true", json={"urls": [
                site.page("/wire-1.html", "<html><body><article><p>The wire story of the day: the "
                          "harbour crane was replaced after forty years of service.</p></article></body></html>")
            ]}).json()["ok"]
        before = api.get("/api/articles?collection=wire").json()
        added = api.post("/api/feeds", json={"url": path, "collection": "wire", "every": "1s"})
        polled = wait_for_poll(api, added.json()["id"], None)
        assert polled["last_error"].startswith(f"{path}: ") and expected in polled["last_error"], polled
        assert api.get("/api/articles?collection=wire").json() == before
        # The same error where an operator looks: `assistant feeds list`, while the server runs.
        listed = subprocess.run([str(CLI), "feeds", "list", "--json"], env={**served.env, **os.environ,
                                "ASSISTANT_INDEX_DIR": served.env["ASSISTANT_INDEX_DIR"]},
                                cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert listed.returncode == 0, listed.stderr
        shown = next(f for f in json.loads(listed.stdout) if f["id"] == polled["id"])
        assert shown["last_error"] == polled["last_error"]
        assert api.delete(f"/api/feeds/{polled['id']}").json() == {"removed": polled["id"]}


def test_feeds_on_the_command_line(tmp_path, site):
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "index"), "ASSISTANT_FETCH_ALLOW_HOSTS": "127.0.0.1",
           "ASSISTANT_FEED_MIN_EVERY_S": "1"}
    site.page("/story-3.html", STORY_3)
    url = site.feed("/cli.xml", FIRST)

    def cli(*args):
        return subprocess.run([str(CLI), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)

    once = cli("ingest", url)
    assert once.returncode == 0 and "added 3" in once.stderr, once.stderr
    assert cli("collections", "create", "news").returncode == 0
    for soon in ("soon", "²", "1²", "٣٠m"):  # digits other than ASCII's: float() refuses some that isdigit() takes
        bad = cli("feeds", "add", url, "--collection", "news", "--every", soon)
        assert bad.returncode == 1 and f"--every: {soon!r} is not a period" in bad.stderr and "Traceback" not in bad.stderr
    for too_long in ("99999999999999999999h", "9" * 400):  # overflowed the next poll's date, breaking every command
        long = cli("feeds", "add", url, "--collection", "news", "--every", too_long)
        assert long.returncode == 1 and "is longer than a year" in long.stderr and "Traceback" not in long.stderr
    shared = url + "?utm_source=newsletter&utm_medium=email"  # kept, and fetched, without what says who sent it
    added = cli("feeds", "add", shared, "--collection", "news", "--every", "30m")
    assert added.returncode == 0 and f"{url} into news, every 30m" in added.stderr
    polled = cli("feeds", "poll")
    assert polled.returncode == 0 and "added 0, replaced 0, unchanged 3" in polled.stderr, polled.stderr
    assert {a["title"] for a in json.loads(cli("list", "--collection", "news", "--json").stdout)} == {
        "Council approves tidal barrier", "Library reopens", "Ferry timetable changes"}
    listed = cli("feeds", "list")
    assert listed.returncode == 0 and "unchanged 3" in listed.stdout
    assert cli("feeds", "remove", shared).returncode == 0  # named as it was added
    assert cli("feeds", "list", "--json").stdout.strip() == "[]"
    assert len(Assistant(load_settings(index_dir=tmp_path / "index")).retrieve(
        "ferry", Filters(collections=("news",)))) >= 1


@pytest.mark.fast
def test_an_atom_feed_reads_like_an_rss_one_and_a_feed_parser_never_opens_what_the_body_names(tmp_path):
    from assistant.ingest.feeds import item_article, parse_feed

    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Harbour office</title><id>urn:harbour</id>
<updated>2026-12-04T09:00:00Z</updated>
<entry><title>Ferry times</title><id>urn:ferry</id><link href="/news/ferry.html"/>
<updated>2026-12-04T09:00:00Z</updated>
<content type="html">&lt;p&gt;The ferry to Ostra leaves at seven.&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</content></entry>
<entry><title>Crane</title><id>urn:crane</id><updated>2026-12-03T09:00:00Z</updated>
<summary>The crane was replaced.</summary></entry>
</feed>"""
    feed = parse_feed(atom, "https://harbour.example/feed.atom", 100, "application/atom+xml")
    ferry, crane = feed.items
    assert (ferry.link, ferry.published, ferry.title) == ("https://harbour.example/news/ferry.html", "2026-12-04",
                                                          "Ferry times")
    article = item_article(ferry)
    assert article.text == "The ferry to Ostra leaves at seven." and article.url == ferry.link  # no script
    assert crane.link is None and crane.source == "https://harbour.example/feed.atom#urn:crane"
    assert item_article(crane).text == "The crane was replaced."  # no page to fetch: its summary
    secret = tmp_path / "secret.txt"
    secret.write_text("<rss version='2.0'><channel><item><title>leaked</title><guid>x</guid></item></channel></rss>")
    with pytest.raises(errors.FetchError, match="is not an RSS or Atom feed"):
        parse_feed(str(secret).encode(), "https://evil.example/feed", 100, "application/rss+xml")
