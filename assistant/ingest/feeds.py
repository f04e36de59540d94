"""RSS and Atom feeds as sources: a feed's bytes → its items; an item that carries its full text → an Article.

The feed is fetched like any link (assistant/ingest/fetch.py: the same address checks, size cap, deadline,
robots.txt, conditional requests) and parsed here with feedparser, from the bytes only (feedparser is handed a
stream, never a URL or a name, so it fetches and opens nothing itself; it sanitises the HTML of entries). An item becomes an article from the full text the feed carries (Atom ``<content>``, RSS
``<content:encoded>``), or else from its page, fetched by the ingester like any link; title, link and date
come from the feed either way.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
import time
from dataclasses import dataclass

from .. import errors
from ..models import Article
from ..text import clean_line
from .cleaning import clean_text, strip_byline
from .loaders import _flat_html_text, article_id_for


@dataclass(frozen=True)
class FeedItem:
    link: str | None  # the item's own page (None: the feed gives none)
    source: str  # what the article records as its source: the link, else the feed's URL and the item's id
    title: str
    published: str | None  # YYYY-MM-DD
    full_text: str | None  # the item's text as the feed carries it, HTML; None: only a summary
    fingerprint: str  # of everything the feed says about the item: a change of it is a changed item

    @property
    def article_id(self) -> str:
        return article_id_for(self.source)


@dataclass(frozen=True)
class Feed:
    url: str
    title: str
    items: list[FeedItem]  # the newest ``max_items``: what is read
    # The article ids of every item the feed lists, read or not: an item leaves the feed only when it is not here.
    listed: frozenset[str] = frozenset()
    # Why the feed is flawed (cut short, broken XML) though it yields items: what it lists is then not all it has.
    flaw: str | None = None


# Parsing costs about half a millisecond per entry, however few are read: a feed of 280,000 tiny items (22 MB)
# held a poll for minutes. News feeds list tens of items; one that lists more than this is refused unparsed.
MAX_ENTRIES = 5_000
_ENTRY_TAG = re.compile(rb"<(?:[\w.-]+:)?(?:item|entry)[\s/>]", re.I)  # feedparser's loose parser reads <ITEM>
# XML's own encoding detection (its spec's appendix F), for the wide encodings feedparser reads, whose tags the
# byte pattern above cannot see: by byte order mark, else by where the NULs around the first "<" fall.
_WIDE_ENCODINGS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"), (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
    (b"\x00<", "utf-16-be"), (b"<\x00", "utf-16-le"),
)


# An entity declared in the feed's DOCTYPE expands where it is used, entities within entities: 633 bytes became
# 100,000 items (21 s, 189 MB) past the count above. Feeds have no use for them; one that declares any is refused.
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.I)


def _as_bytes_read(body: bytes) -> bytes:
    """``body`` as the byte patterns above can read it: a wide encoding re-encoded."""
    codec = next((codec for start, codec in _WIDE_ENCODINGS if body.startswith(start)), None)
    return body if codec is None else body.decode(codec, errors="replace").encode()


def parse_feed(body: bytes, url: str, max_items: int, content_type: str = "") -> Feed:
    """The feed's newest ``max_items`` items; FetchError naming ``url`` when ``body`` is not an RSS or Atom feed
    or lists more than ``MAX_ENTRIES`` items."""
    import feedparser

    if not isinstance(body, bytes):
        raise TypeError("parse_feed takes the feed's bytes")
    readable = _as_bytes_read(body)
    if _ENTITY_DECLARATION.search(readable):
        raise errors.FetchError(url, "declares XML entities (<!ENTITY …>), which a feed has no use for and which can "
                                     "expand without bound; it is not read")
    entries = sum(1 for _ in _ENTRY_TAG.finditer(readable))
    if entries > MAX_ENTRIES:
        raise errors.FetchError(url, f"lists about {entries:,} items; a feed may list at most {MAX_ENTRIES:,}")
    # As a stream: feedparser takes a str for a URL to fetch, and even bytes for a file name to open first.
    headers = {"content-location": url, **({"content-type": content_type} if content_type else {})}
    parsed = feedparser.parse(io.BytesIO(body), sanitize_html=True, resolve_relative_uris=True,
                              response_headers=headers)
    entries = list(parsed.entries)
    entries.sort(key=lambda e: _timestamp(e) or 0, reverse=True)
    every = [_item(e, url) for e in entries]
    items = [item for item in every[:max_items] if item is not None]
    why = parsed.get("bozo_exception")
    # Readers take a feed with a flaw as far as it reads; one that is no feed, or that yields no item because it
    # is broken, is an error (a well-formed feed with no items is just empty).
    if not parsed.get("version") or (parsed.get("bozo") and not items):
        served = f"served as {content_type}" if content_type else "served with no content type"
        broken = f"; as XML: {str(why)[:200]}" if "xml" in content_type and why is not None else ""
        raise errors.FetchError(url, f"is not an RSS or Atom feed ({served}{broken})")
    # Flaws that lose nothing (a wrong charset or content type declared, a namespace left undeclared) are none.
    benign = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType, feedparser.UndeclaredNamespace)
    flaw = None if not parsed.get("bozo") or isinstance(why, benign) else (str(why)[:200] or "malformed")
    return Feed(url=url, title=clean_line(str(parsed.feed.get("title") or "")) or url, items=items,
                listed=frozenset(item.article_id for item in every if item is not None), flaw=flaw)


def _item(entry, feed_url: str) -> FeedItem | None:
    link = entry.get("link") or None
    if link and not link.lower().startswith(("http://", "https://")):  # feedparser may give an id (urn:…) as link
        link = None
    guid = entry.get("id") or link
    if not link and not guid:
        return None  # nothing to know it by the next time: skipped
    title = clean_line(str(entry.get("title") or ""))[:300]  # one clean line, as a file's title (loaders.py)
    stamp = _timestamp(entry)
    published = time.strftime("%Y-%m-%d", time.gmtime(stamp)) if stamp else None
    contents = [c.get("value", "") for c in entry.get("content", []) if c.get("value")]
    full_text = max(contents, key=len) if contents else None
    if not link and full_text is None and entry.get("summary"):
        full_text = entry.get("summary")  # no page to fetch: the summary is all there is
    # The entry's own timestamps, whole: an edit that only moves <updated> (or the time of day) is a change too.
    stamps = [str(entry.get("updated", "")), str(entry.get("published", ""))]
    said = "\x00".join([title, link or "", guid or "", published or "", full_text or "", entry.get("summary", ""),
                        *stamps])
    return FeedItem(link=link, source=link or f"{feed_url.split('#', 1)[0]}#{guid}", title=title, published=published,
                    full_text=full_text, fingerprint=hashlib.sha256(said.encode()).hexdigest()[:32])


def _timestamp(entry) -> float | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        return float(calendar.timegm(parsed))
    except (TypeError, ValueError, OverflowError):
        return None


def item_article(item: FeedItem) -> Article:
    """The article an item's own full text makes; EmptyDocument when it holds no text."""
    _, text = _flat_html_text(item.full_text or "")
    text, _ = strip_byline(text)
    text = clean_text(text)
    if not text.strip():
        raise errors.EmptyDocument(item.source, "the feed's text of this item is empty")
    return Article(
        id=item.article_id, title=item.title or text.split("\n", 1)[0][:300], text=text, source=item.source,
        url=item.link, published=item.published, content_hash=hashlib.sha256(text.encode()).hexdigest(),
    )
