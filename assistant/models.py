"""The plain typed values that flow between stages, and the one shape of each value.

Every surface serialises these same models: the API returns ``Answer`` (its
internal fields are excluded), the CLI prints ``Answer.public()``, the widget
reads the API's JSON, and the evaluator records ``Citation.model_dump()``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePath
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_serializer, model_validator
from pydantic.json_schema import SkipJsonSchema

from . import errors

# The files the load stage reads, by suffix.
TEXT_SUFFIXES = frozenset({".txt", ".text"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES

# Where articles go when no collection is named; every index has it (an index from before collections holds
# all its articles in it), and it cannot be renamed or removed.
DEFAULT_COLLECTION = "default"
_COLLECTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # fullmatch: "$" takes a final newline


def is_collection_name(name: object) -> bool:
    return isinstance(name, str) and _COLLECTION_NAME.fullmatch(name) is not None


def collection_name(name: object, field: str = "collection") -> str:
    """``name`` if it can name a collection (letters, digits, ``.``, ``_``, ``-``; 1-64, starting with a letter or
    digit), else InvalidRequest naming ``field``."""
    if not is_collection_name(name):
        shown = repr(name)[:80]
        raise errors.InvalidRequest(field, f"{shown} is not a collection name: use 1 to 64 ASCII letters, digits, '.', "
                                           "'_' or '-', starting with a letter or digit")
    return name


@dataclass(frozen=True, slots=True)
class Article:
    """A cleaned article. ``text`` is what chunks and citations point into."""

    id: str
    title: str
    text: str
    source: str
    url: str | None = None
    published: str | None = None
    content_hash: str = ""


@dataclass(frozen=True, slots=True)
class Chunk:
    id: str
    article_id: str
    text: str
    start: int  # character offsets into Article.text
    end: int


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk with its article's metadata, ranked and scored."""

    chunk: Chunk
    title: str
    source: str
    score: float  # dense cosine similarity of the chunk to the question, 0..1
    rank: int
    article_text: str = field(default="", repr=False)
    published: str | None = None
    url: str | None = None


class Turn(BaseModel):
    """One earlier exchange of a conversation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str
    answer: str


def day_number(published: str | date | None) -> int:
    """yyyymmdd as an int (0 for no date): Chroma compares numbers, not date strings."""
    if not published:
        return 0
    digits = str(published)[:10].replace("-", "")
    return int(digits) if digits.isdigit() and len(digits) == 8 else 0


class Filters(BaseModel):
    """Restrict retrieval to some articles; every field is optional."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    article_ids: tuple[str, ...] = Field((), description="Only these articles (ids from GET /api/articles).")
    sources: tuple[str, ...] = Field((), description="Only articles from these sources.")
    published_from: date | None = Field(None, description="Published on or after this day (YYYY-MM-DD).")
    published_to: date | None = Field(None, description="Published on or before this day (YYYY-MM-DD).")
    urls: tuple[str, ...] = Field(
        (), description="The articles at these links (the widget sends its page's): a link no article has is ignored."
    )
    collections: tuple[str, ...] = Field(
        (), description="Only the articles of these collections (GET /api/collections); default: every collection "
        "the key may use. A key scoped to some collections gets 403 for any other.",
    )

    @field_validator("urls")
    @classmethod
    def _links(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        """Each a link (a page's address the widget sends): one nobody could have ingested is a bad request. Kept
        without its query and fragment, which matching ignores and which may hold a visitor's tokens
        (``#access_token=…``) that a conversation would otherwise store."""
        for url in urls:
            try:
                parse_link(url)
            except errors.InvalidRequest as bad:
                raise ValueError(bad.reason) from None
        return tuple(urlunsplit(urlsplit(url.strip())._replace(query="", fragment="")) for url in urls)

    @model_validator(mode="after")
    def _days_in_order(self) -> Filters:
        """A range that ends before it starts is a mistake to name, not a question no article answers."""
        if self.published_from and self.published_to and self.published_from > self.published_to:
            raise ValueError(f"published_from ({self.published_from}) is after published_to ({self.published_to})")
        return self

    @field_validator("collections")
    @classmethod
    def _collection_names(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if not _COLLECTION_NAME.fullmatch(name):
                raise ValueError(f"{name[:80]!r} is not a collection name")
        return tuple(dict.fromkeys(names))

    @property
    def narrows_articles(self) -> bool:
        """Whether anything but the collections narrows it (ids, sources, dates, links)."""
        return self.model_copy(update={"collections": ()}) != Filters()

    def admits(self, article_id: str, source: str, published: str | None) -> bool:
        """Whether these filters' ids, sources and dates let the article through (collections are the index
        scope's to apply: :meth:`assistant.index.Index.scope`)."""
        if self.article_ids and article_id not in self.article_ids:
            return False
        if self.sources and source not in self.sources:
            return False
        day = day_number(published)
        if self.published_from and day < day_number(self.published_from):
            return False
        if self.published_to and (day == 0 or day > day_number(self.published_to)):
            return False
        return True


def _absent_when_none(schema: dict) -> None:
    """What is sent is required in the schema unless it may be None, which is left out (below): ``citations``
    and ``refused`` are always in an answer, ``notice`` only when there is one."""
    properties = schema.get("properties", {})
    schema["required"] = [name for name in schema.get("required", ())
                          if {"type": "null"} not in properties.get(name, {}).get("anyOf", [])]


class _SentWithoutNones(BaseModel):
    """An answer's parts leave out what is None, wherever they are sent (an answer, a conversation, a feedback
    record, a stream's last event, `--json`): one shape for the value on every route."""

    model_config = ConfigDict(json_schema_extra=_absent_when_none, json_schema_serialization_defaults_required=True)

    @model_serializer(mode="wrap")
    def _without_nones(self, handler):
        return {name: value for name, value in handler(self).items() if value is not None}


class Citation(_SentWithoutNones):
    """What ``[n]`` in an answer points to: a verbatim quote and its span in the article."""

    n: int = Field(description="The [n] marker in the answer.")
    article_id: str
    title: str
    source: str = Field(description="Where the article came from; for readers a file name or link, never a path.")
    url: str | None = Field(None, description="The article's own link, when it has one.")
    quote: str = Field(description="The cited sentence(s), verbatim from the article.")
    start: int = Field(description="Character offset of the quote in the stored article text.")
    end: int
    score: float = Field(description="How strongly the answerer backs this quote, higher is stronger: the reader's "
                         "answerability for an extractive answer (refused below answerability_threshold; it may be "
                         "negative), how well the quote supports the claim it is cited for on an LLM backend, 1.0 for an "
                         "overview's lines.")
    # For the pages that show the quote in its passage (not sent: the API's readers have the span).
    passage: SkipJsonSchema[str] = Field("", exclude=True)
    passage_start: SkipJsonSchema[int] = Field(0, exclude=True)
    # span of the answering phrase inside the quote, when the answerer found one
    highlight_start: SkipJsonSchema[int | None] = Field(None, exclude=True)
    highlight_end: SkipJsonSchema[int | None] = Field(None, exclude=True)

    @computed_field(description="The phrase of the quote that answers (the name, date, number… asked for), when one was found.")
    @property
    def phrase(self) -> str | None:
        if self.highlight_start is None or self.highlight_end is None:
            return None
        return self.quote[self.highlight_start : self.highlight_end]

    @classmethod
    def quoting(
        cls, n: int, passage: Passage, start: int, end: int, score: float, highlight: tuple[int, int] | None = None
    ) -> Citation:
        """Cite the article text ``[start, end)`` inside ``passage``."""
        return cls(
            n=n,
            article_id=passage.chunk.article_id,
            title=passage.title,
            source=passage.source,
            url=passage.url,
            quote=passage.article_text[start:end],
            start=start,
            end=end,
            score=round(score, 4),
            passage=passage.chunk.text,
            passage_start=passage.chunk.start,
            highlight_start=highlight[0] if highlight else None,
            highlight_end=highlight[1] if highlight else None,
        )


class Answer(_SentWithoutNones):
    """An answer with its citations; the excluded fields say how it was reached (for the evaluator and benches)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, json_schema_extra=_absent_when_none)

    answer: str
    citations: list[Citation] = []
    refused: bool = Field(False, description="True when the articles do not hold the answer.")
    notice: str | None = Field(None, description="Present when something degraded, e.g. the LLM was unreachable.")
    id: str | None = Field(None, description="The kept answer's id (for POST /api/feedback); absent when not kept.")
    conversation_id: str | None = Field(None, description="The conversation the answer was kept in, when asked in one.")
    # --- not sent --------------------------------------------------------------------------------
    question: SkipJsonSchema[str | None] = Field(None, exclude=True, description="The standalone question answered.")
    passages: SkipJsonSchema[list[Passage]] = Field(default_factory=list, exclude=True)
    # How well the chosen sentence answers (extractive: the reader's answerability, what the threshold applies to).
    support: SkipJsonSchema[float | None] = Field(None, exclude=True)
    refusal_reason: SkipJsonSchema[str | None] = Field(None, exclude=True)
    # What the refusal decision looked at (extractive: the answerability), for the evaluator's results.
    refusal_signals: SkipJsonSchema[dict[str, float] | None] = Field(None, exclude=True)
    kind: SkipJsonSchema[str] = Field("factoid", exclude=True, description="factoid, overview, catalogue or small_talk")

    def for_reader(self) -> Answer:
        """This answer as readers outside the server's trust (widget keys, the chat page) see it."""
        citations = [c.model_copy(update={"source": display_source(c.source)}) for c in self.citations]
        return self.model_copy(update={"citations": citations})

    def public(self, *, reader: bool = False) -> dict:
        """The documented JSON shape, as the API sends it and `assistant ask --json` prints it."""
        return (self.for_reader() if reader else self).model_dump(mode="json", exclude_none=True)


def display_source(source: str) -> str:
    """A source as readers may see it: uploads and links as they are, server files by their name only."""
    if source.startswith(("upload:", "http://", "https://")):
        return source
    return PurePath(source).name


@dataclass(frozen=True, slots=True)
class ArticleInfo:
    """What `assistant list` shows of an indexed article."""

    id: str
    title: str
    source: str
    url: str | None
    published: str | None
    chunks: int
    chars: int
    ingested_at: str
    collections: tuple[str, ...] = ()  # the collections it belongs to (at least one)


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """What `assistant collections` and GET /api/collections show of a collection."""

    name: str
    articles: int
    chunks: int
    created_at: str


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """What `assistant feeds list`, GET /api/feeds and the chat page show of a feed."""

    id: int
    url: str
    collection: str
    every_s: float
    prune: bool
    added_at: str
    next_poll_at: str
    last_polled_at: str | None
    last_ok_at: str | None
    last_error: str | None  # the last poll's, or None when it went well
    last_report: str | None  # what the last poll did ("added 2, replaced 1, unchanged 7")
    items: int  # the feed's items as of the last poll that read it


# ASCII digits only: str.isdigit() and \d take "²" and "٣", which float() then refuses.
_EVERY = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$", re.ASCII)
_SECONDS = re.compile(r"(?=\.?[0-9])[0-9]*\.?[0-9]*", re.ASCII)


def parse_every(text: object, field: str = "every") -> float:
    """``30m``, ``1h``, ``1h30m``, ``45s``, ``2d`` (or a number of seconds) as seconds; InvalidRequest otherwise."""
    raw = str(text).strip().lower() if isinstance(text, (str, int, float)) else ""
    match = _EVERY.match(raw) if raw else None
    if _SECONDS.fullmatch(raw):
        seconds = float(raw)
    elif match and any(match.groups()):
        d, h, m, s = (float(g or 0) for g in match.groups())
        seconds = d * 86400 + h * 3600 + m * 60 + s
    else:
        raise errors.InvalidRequest(field, f"{str(text)[:40]!r} is not a period: write e.g. 30m, 1h, 1h30m, 45s or 2d")
    if seconds <= 0:
        raise errors.InvalidRequest(field, "must be longer than nothing")
    if not seconds <= MAX_EVERY_S:  # nan too; a huge one overflowed the next poll's date
        raise errors.InvalidRequest(field, f"{str(text)[:40]!r} is longer than a year")
    return seconds


MAX_EVERY_S = 366 * 86400


def format_every(seconds: float) -> str:
    """Seconds as ``parse_every`` reads them: 1800 -> ``30m``, 5400 -> ``1h30m``."""
    whole = int(round(seconds))
    if whole != seconds or whole < 60:
        return f"{seconds:g}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts)


@dataclass(slots=True)
class IngestReport:
    added: list[str] = field(default_factory=list)  # article ids newly indexed
    replaced: list[str] = field(default_factory=list)  # changed content, old chunks replaced
    unchanged: list[str] = field(default_factory=list)
    # unchanged articles put in the collection the ingest named, which they were not in yet
    joined: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, message)
    chunks_added: int = 0
    # articles whose file is gone from a folder the ingest mirrors (prune)
    removed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def counts(self) -> str:
        """The report in a line, as the CLI, the chat page and a feed's last poll say it."""
        unchanged = f"unchanged {len(self.unchanged)}" + (
            f" ({len(self.joined)} put in the collection)" if self.joined else "")
        removed = f", removed {len(self.removed)}" if self.removed else ""
        return (f"added {len(self.added)}, replaced {len(self.replaced)}, {unchanged}, failed {len(self.failed)}"
                f"{removed}")


# --- links -------------------------------------------------------------------
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?$")


@dataclass(frozen=True)
class Link:
    """An absolute http(s) URL with a valid host: made by :func:`parse_link`, never from a bare string."""

    url: str

    def __str__(self) -> str:
        return self.url


def parse_link(text: object, field: str = "url") -> Link:
    """The link ``text`` names, or InvalidRequest naming ``field``. The answer depends on the text alone,
    never on what exists on this server."""
    raw = text.strip() if isinstance(text, str) else ""
    shown = raw[:200] if raw else repr(text)[:200]
    why = f"{shown!r} is not a link: a link is an absolute http:// or https:// URL with a host name"
    if not raw or any(c.isspace() or not c.isprintable() for c in raw):
        raise errors.InvalidRequest(field, why)
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError:
        raise errors.InvalidRequest(field, why) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or not valid_host(parts.hostname):
        raise errors.InvalidRequest(field, why)
    if parts.username is not None or parts.password is not None:
        raise errors.InvalidRequest(field, f"{shown!r}: a link with a user name or password is not fetched")
    return Link(scheme + raw[len(parts.scheme):])


# Query parameters that only say who sent the reader (mail, ads, social sites), never which page: a link shared
# from a newsletter is the same article as the plain one. A list of known names, not courlan's pattern (installed
# with trafilatura), which also drops ``ref``, ``source``, ``cid`` and ``eid``: names that pick the page on
# some sites (a branch, an event).
_TRACKING_PREFIXES = ("utm_", "mtm_")  # Google Analytics' and Matomo's campaign parameters
_TRACKING_NAMES = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid", "igshid",
    "li_fat_id", "mkt_tok", "_ga", "_gl", "_hsenc", "_hsmi", "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv",
    "mc_cid", "mc_eid", "pk_campaign", "pk_kwd", "pk_keyword", "pk_source", "pk_medium", "pk_content", "pk_cid",
})


def _is_tracking(parameter: str) -> bool:
    name = unquote_plus(parameter.split("=", 1)[0]).lower()
    return name in _TRACKING_NAMES or name.startswith(_TRACKING_PREFIXES)


def page_link(text: object, field: str = "url") -> Link:
    """A link someone gives to fetch (ingest, a feed to follow): :func:`parse_link` without its ``#fragment``,
    which is never sent to the site, and without tracking parameters (``utm_source``, ``fbclid``…), so that
    ``…/a.html?utm_medium=email#comments`` is the same article as ``…/a.html``. The rest of the query is kept
    byte for byte, in its order."""
    url = parse_link(text, field).url.split("#", 1)[0]
    address, mark, query = url.partition("?")
    kept = [parameter for parameter in query.split("&") if parameter and not _is_tracking(parameter)]
    return Link(address + (mark + "&".join(kept) if kept else ""))


def link_or_path(text: str, field: str = "paths") -> Link | str:
    """For callers that take both (the command line, MCP over stdio): a Link when ``text`` has an http(s) scheme
    (in any case), else the text unchanged, a path."""
    if not text.strip():  # Path("") is the working directory: an agent's empty string would ingest all of it
        raise errors.InvalidRequest(field, "an empty path (the working directory is '.')")
    try:
        scheme = urlsplit(text.strip()).scheme.lower()
    except ValueError:  # "http://[oops/": unbalanced brackets, which no path has unless a file is named so
        if os.path.exists(text):
            return text
        raise errors.InvalidRequest(field, f"{text.strip()[:200]!r} is not a link: a link is an absolute http:// or "
                                           "https:// URL with a host name") from None
    if scheme in ("http", "https"):
        return page_link(text, field)
    if "://" in text and re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme) and not os.path.exists(text):
        # ftp://, file://…: a link of a kind not fetched, not a missing file
        raise errors.InvalidRequest(field, f"{text!r}: only http(s) links are fetched ({scheme}:// is not)")
    return text


def valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return bool(_HOST_NAME.fullmatch(ascii_host.lower()))
