"""When an article's source changes after it was indexed: a new title or date alone is a change, a link opened
from an old answer marks the quote only while it is still there, and `sync` leaves a feed's items to the feed."""

from __future__ import annotations

import httpx
from servers import ServerThread
from test_feeds import FeedSite, item, rss

from assistant.models import Filters, parse_link
from assistant.web.app import create_app
from assistant.web.article_page import ArticleLinks, link_secret

QUILL = """---
title: {title}
date: {date}
---

The Quill engine was designed by Ada Brennan in the harbour works and first ran in {year}.
"""


def test_a_new_title_or_date_alone_is_a_change(make_assistant, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    page = folder / "quill.md"
    page.write_text(QUILL.format(title="Quill engines old title", date="2020-01-01", year=1911))
    assistant = make_assistant()
    assert assistant.ingest([folder]).added
    page.write_text(QUILL.format(title="The Quill engine", date="2024-05-02", year=1911))
    again = assistant.ingest([folder])
    assert again.replaced and not again.unchanged  # it was "unchanged", and kept the old title and date
    [listed] = assistant.articles()
    assert (listed.title, listed.published) == ("The Quill engine", "2024-05-02")
    answer = assistant.ask("Who designed the Quill engine?", filters=Filters(published_from="2024-01-01"))
    assert not answer.refused and "Ada Brennan" in answer.answer  # the vectors carry the new date too
    assert assistant.ingest([folder]).unchanged  # and the same again is unchanged


def test_a_link_from_an_old_answer_marks_the_quote_only_while_it_is_there(make_assistant, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    page = folder / "festival.txt"
    page.write_text("Zorblat festival\n\nThe Zorblat festival is held in Kestrel Bay every April, the town said.\n")
    assistant = make_assistant()
    assert assistant.ingest([folder]).ok
    [citation, *_] = assistant.ask("Where is the Zorblat festival held?").citations
    with ServerThread(create_app(assistant)) as server:
        link = ArticleLinks(link_secret(assistant.settings)).url(server.url, citation)
        assert '<mark id="quote">' in httpx.get(link).text
        page.write_text("Zorblat festival\n\nThe Zorblat festival is held in Gull Harbour every April, the town said.\n")
        assert assistant.ingest([folder]).replaced == [citation.article_id]  # the same id, other words there
        opened = httpx.get(link)
        assert opened.status_code == 200 and "Gull Harbour" in opened.text and "<mark" not in opened.text


def test_sync_leaves_a_feeds_items_to_the_feed(make_assistant):
    site = FeedSite()
    try:
        feed = site.page("/sync.xml", rss(site, [item(1, "Otter count", "Forty otters were counted on the river.")]),
                         "application/rss+xml")
        linkless = ('<item><title>Heron nest</title><guid isPermaLink="false">urn:item-b</guid>'
                    "<description>A heron nest was found by the weir on Sunday.</description></item>")
        body = site.pages["/sync.xml"][1].replace(b"</channel>", linkless.encode() + b"</channel>")
        site.page("/sync.xml", body, "application/rss+xml")
        site.page("/story-1.html", "<html><head><title>Otter count</title></head><body><article><p>Forty otters were "
                                   "counted on the river.</p></article></body></html>")
        assistant = make_assistant(fetch_allow_hosts="127.0.0.1", feed_min_every_s=1)
        assert len(assistant.ingest(links=[parse_link(feed)]).added) == 2
        before = {(a.id, a.title, a.published) for a in assistant.articles()}
        for _ in range(2):  # an item with no page of its own was fetched as its feed: every item again, each time
            synced = assistant.sync()
            assert not synced.added and not synced.failed and not synced.replaced, synced
        assert {(a.id, a.title, a.published) for a in assistant.articles()} == before  # the feed's title and date
        # A followed feed's items are its polls' to read again: sync does not fetch their pages.
        assistant.poll_feed(assistant.feeds.add(feed, "default", 60).id, force=True)
        fetched = len([path for path, _, _ in site.log if path == "/story-1.html"])
        assert not assistant.sync().unchanged
        assert len([path for path, _, _ in site.log if path == "/story-1.html"]) == fetched
    finally:
        site.close()


FERRY = "---\ntitle: Night ferry returns\n---\n\nThe night ferry to Saltmarsh returns on Friday after a winter pause.\n"


def test_an_article_removed_while_a_question_is_answered_is_left_out(make_assistant, tmp_path, monkeypatch):
    """A delete, a feed's prune or a collection's removal can land between a question's reads of the index: the
    article listed or found a moment before is left out of the answer, never a 500 (or a 404 naming an article the
    question never named)."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "quill.md").write_text(QUILL.format(title="The Quill engine", date="2024-05-02", year=1911))
    (folder / "ferry.md").write_text(FERRY)
    assistant = make_assistant()
    assert assistant.ingest([folder]).ok
    index = assistant.index
    [gone] = [a.id for a in index.articles() if a.title == "The Quill engine"]
    listed, chunks_then = index.articles(), {c.id: c for c in index.manifest.all_chunks()}
    question_vector = assistant.embedder.encode_one("Who designed the Quill engine?")
    hits_then = index.dense_search(question_vector, 20)
    assert assistant.remove(gone)
    # Each read as it was just before the removal: the listing, the search's hits and their chunks.
    monkeypatch.setattr(index, "articles", lambda scope=None: listed)
    monkeypatch.setattr(index, "dense_search", lambda vector, k, where=None, scope=None: hits_then)
    monkeypatch.setattr(index.manifest, "chunks", lambda ids: {i: chunks_then[i] for i in ids if i in chunks_then})

    catalogue = assistant.ask("What articles do you have?")
    assert "Night ferry returns" in catalogue.answer and "Quill" not in catalogue.answer
    assert catalogue.answer.startswith("1 article:"), catalogue.answer  # nor counted ("the 1 most recent of the 2")
    factoid = assistant.ask("Who designed the Quill engine?")
    assert "Ada Brennan" not in factoid.answer and all(c.article_id != gone for c in factoid.citations)
