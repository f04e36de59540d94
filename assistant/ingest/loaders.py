"""Load stage: a file on disk → a cleaned :class:`Article`.

Formats: .txt, .md/.markdown, .html/.htm (main text via trafilatura; all text, read
flat, when the page nests too deep for lxml), .pdf (pypdf).
Bytes are decoded as assistant.ingest.decoding says; Markdown front matter is read as
plain ``key: value`` scalars only (no anchors or aliases), and a bad one is a clear error.
"""

from __future__ import annotations

import datetime
import errno
import hashlib
import io
import logging
import os
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

from .. import errors
from ..models import HTML_SUFFIXES, MARKDOWN_SUFFIXES, PDF_SUFFIXES, SUPPORTED_SUFFIXES, Article, parse_link
from ..text import clean_line, find_dateline
from .cleaning import clean_text, fold_ligatures, join_pages, strip_byline
from .decoding import decode_bytes, html_declared_charset


def iter_files(paths: list[str | Path]) -> Iterator[Path]:
    """Expand folders recursively (supported suffixes only); files are yielded as given, each file once. Within a
    folder, whatever has a supported name but cannot be read (a broken link, a pipe) is yielded too, to be reported by
    load_article; so is a folder holding no article at all, or one that cannot be listed, rather than adding
    nothing without a word."""
    seen: set[str] = set()
    for raw in paths:
        path = Path(raw)
        found = folder_files(path) if is_folder(path) else [path]  # missing or unsupported files: load_article's
        for one in found:
            same = os.path.abspath(one)  # a folder and a file in it, given both: read once (abspath: no disk access)
            if same not in seen:
                seen.add(same)
                yield one


def is_folder(path: Path) -> bool:
    """``path.is_dir()``, False for a path the system will not look at (a name too long, say): load_article then
    says why for that path alone, where the OSError would have stopped the whole batch."""
    try:
        return path.is_dir()
    except OSError:
        return False


def unreachable(exc: OSError) -> str:
    """Why a path could not be looked at, in the words of an ingest's failure."""
    if exc.errno == errno.ENAMETOOLONG:
        return "the file name is too long"
    return f"the file cannot be read ({exc.strerror or exc})"


def folder_files(folder: Path) -> list[Path]:
    """The article files under ``folder`` (hidden names and ``lost+found`` skipped, links to folders not followed),
    sorted; a folder that could not be listed stands for its files (load_article says why), and ``[folder]``
    means none."""
    found: list[Path] = []
    unreadable: list[Path] = []

    def _unlisted(exc: OSError) -> None:
        unreadable.append(Path(exc.filename))

    for where, folders, names in os.walk(folder, onerror=_unlisted):
        folders[:] = [f for f in folders if f != "lost+found"]  # a disk's, for fsck: never articles, and root's alone
        found += [Path(where, name) for name in names
                  if Path(name).suffix.lower() in SUPPORTED_SUFFIXES and not name.startswith(".")]
    return sorted(found + unreadable) or [folder]


def article_id_for(source: str) -> str:
    """Stable id: readable stem plus a hash of the source, so re-ingest finds the same article."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(source).stem).strip("-")[:48] or "article"
    return f"{stem}-{hashlib.sha1(source.encode()).hexdigest()[:8]}"


def load_article(path: str | Path, *, max_bytes: int, source: str | None = None, charset: str | None = None) -> Article:
    """Read, extract and clean one file. ``source`` overrides the recorded origin (uploads); ``charset`` is the
    encoding a server declared for it (a fetched page's Content-Type), read before any guess."""
    path = Path(path)
    try:
        data = _file_bytes(path, max_bytes)
    except OSError as exc:  # a name too long, a file that cannot be opened: this file fails, not the run
        kind = errors.SourceNotFound if exc.errno == errno.ENAMETOOLONG else errors.IngestError
        raise kind(path, unreachable(exc)) from None
    suffix = path.suffix.lower()
    source = source or str(path.resolve())

    if suffix in PDF_SUFFIXES:
        title, text, url, published = _extract_pdf(path, data)
    elif suffix in HTML_SUFFIXES:
        declared = charset or html_declared_charset(data)  # the server's word first, as browsers take it
        title, text, url, published = _extract_html(path, decode_bytes(path, data, declared=declared))
    else:
        markdown = suffix in MARKDOWN_SUFFIXES
        title, text, url, published = _extract_plain(path, decode_bytes(path, data, declared=charset), markdown=markdown)

    url = _web_link(url)
    text, stamped = strip_byline(text)
    published = published or stamped
    text = clean_text(text)
    if not text.strip():
        raise errors.EmptyDocument(path, "no readable text after extraction")
    if published is None:
        dateline = find_dateline(text)
        published = dateline.iso if dateline else None
    # A title is shown on every surface, the command line's included: one clean line, never escapes or controls.
    title = clean_line(fold_ligatures(title or "")) or _first_line(text) or clean_line(path.stem) or path.stem
    title = title[:300]
    return Article(
        id=article_id_for(source),
        title=title,
        text=text,
        source=source,
        url=url,
        published=published,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
    )


def _file_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, once it is known to be a regular article file of a readable size."""
    if not path.exists():
        raise errors.SourceNotFound(path, "no such file or folder")
    if path.is_dir():
        try:
            os.scandir(path).close()
        except OSError as exc:
            raise errors.SourceNotFound(path, f"the folder cannot be read ({exc.strerror or exc})") from None
        raise errors.UnsupportedFileType(path, f"a folder with no {', '.join(sorted(SUPPORTED_SUFFIXES))} file in it")
    if not path.is_file():
        raise errors.UnsupportedFileType(path, "not a regular file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise errors.UnsupportedFileType(
            path, f"unsupported file type {suffix or '(none)'}; expected one of {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    size = path.stat().st_size
    if size > max_bytes:  # checked before reading, so a huge file never lands in memory
        raise errors.FileTooLarge(path, f"{size:,} bytes is over the {max_bytes:,}-byte limit")
    if size == 0:
        raise errors.EmptyDocument(path, "file is empty")
    return path.read_bytes()


# The opening "---" line ends at its first newline: "\s*" there spanned blank lines, each one more start for the
# lazy scan to the end ("---" and 31,000 newlines took 14 s). The blank lines are then cut off the block in code.
_FRONT_MATTER = re.compile(r"\A---[^\S\n]*\n(.*?)\n---\s*\n", re.S)
_BLANK_LINES = re.compile(r"\A\s*\n")
# Front matter is a few lines of metadata; YAML beyond plain scalars is how a small file costs
# seconds and hundreds of MB ("billion laughs": aliases of aliases, expanded when a value is read).
FRONT_MATTER_MAX_BYTES = 8192
FRONT_MATTER_MAX_DEPTH = 8
_META_KEYS = ("title", "url", "link", "date", "published")


def _extract_plain(path: Path, text: str, *, markdown: bool) -> tuple[str | None, str, str | None, str | None]:
    title = url = published = None
    if markdown:
        match = _FRONT_MATTER.match(text)
        if match:
            meta = _front_matter(path, _BLANK_LINES.sub("", match.group(1), count=1))
            title = _str_or_none(meta.get("title"))
            url = _str_or_none(meta.get("url") or meta.get("link"))
            published = _iso_day(meta.get("date") or meta.get("published"))
            text = text[match.end():]
        heading = re.search(r"^#\s+(.+)$", text, re.M)
        if heading and title is None:
            title = heading.group(1).strip()
        # Headings stay as lines of text; their markup would otherwise land in quotes.
        text = re.sub(r"^#{1,6}\s+", "", text, flags=re.M)
        text = _inline_markdown_as_text(text)
    url_line = re.search(r"^(?:URL|Source|Link):\s*(https?://\S+)\s*$", text, re.M | re.I)
    if url_line:
        url = url or url_line.group(1)
    return title, text, url, published


def _front_matter(path: Path, block: str) -> dict:
    """The front matter's metadata keys, or a clear error naming the file."""
    import yaml

    if len(block.encode("utf-8")) > FRONT_MATTER_MAX_BYTES:
        raise errors.UndecodableFile(path, f"front matter is over the {FRONT_MATTER_MAX_BYTES:,}-byte limit")
    try:
        _check_events(path, yaml.parse(block, Loader=yaml.SafeLoader))
        meta = yaml.safe_load(block)
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date that is none ("2020-13-45")
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark else ""  # +1 for 1-based, +1 for the opening ---
        problem = getattr(exc, "problem", None) or exc
        raise errors.UndecodableFile(path, f"front matter is not valid YAML{where}: {problem}") from None
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise errors.UndecodableFile(path, f"front matter must be key: value lines, not a {_kind(meta)}")
    for key in _META_KEYS:
        if not isinstance(meta.get(key), (str, int, float, datetime.date, type(None))):
            raise errors.UndecodableFile(path, f"front matter {key!r} must be a plain value, not a {_kind(meta[key])}")
    return meta


def _check_events(path: Path, events) -> None:
    """Refuse anchors/aliases and deep nesting from the parser's events, before anything is built."""
    import yaml

    depth = 0
    for event in events:
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise errors.UndecodableFile(
                path, "front matter uses YAML anchors/aliases (&/*); only plain key: value scalars are allowed"
            )
        depth += isinstance(event, yaml.CollectionStartEvent) - isinstance(event, yaml.CollectionEndEvent)
        if depth > FRONT_MATTER_MAX_DEPTH:  # the composer recurses per level
            raise errors.UndecodableFile(path, f"front matter nests deeper than {FRONT_MATTER_MAX_DEPTH} levels")


def _kind(value) -> str:
    return {dict: "mapping", list: "list"}.get(type(value), type(value).__name__)


def _extract_html(path: Path, html: str) -> tuple[str | None, str, str | None, str | None]:
    import trafilatura

    if _nests_too_deep(html):
        # libxml2 (under trafilatura) drops every element nested deeper than 256: read such a page flat.
        title, text = _flat_html_text(html)
        if not text.strip():
            raise errors.EmptyDocument(path, "no text found in the HTML")
        return title, text, None, None
    try:
        # No extensive date search: it takes a footer's "© 2025" for the day the article was published.
        # Without it, htmldate reads only the page's own metadata (meta tags, JSON-LD, <time>); else a dateline.
        doc = trafilatura.bare_extraction(
            html, with_metadata=True, include_comments=False, include_tables=True,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as exc:  # lxml raises many types on hostile markup
        raise errors.UndecodableFile(path, f"could not parse HTML ({type(exc).__name__})") from None
    if doc is None or not (doc.text or "").strip():
        raise errors.EmptyDocument(path, "no main text found in the HTML")
    return doc.title, doc.text, doc.url, doc.date


def _nests_too_deep(html: str) -> bool:
    """Whether lxml would cut the page off at its nesting limit (and lose the text below it)."""
    import lxml.html
    from lxml import etree

    parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)
    except (etree.LxmlError, ValueError):
        return False  # not for this check to judge; trafilatura reports it
    return any(entry.type_name == "ERR_RESOURCE_LIMIT" for entry in parser.error_log)


class _FlatText(HTMLParser):
    """All text of a page outside scripts and styles, a line per block; no tree, so no depth limit."""

    SKIP = {"script", "style", "noscript", "template"}
    BLOCKS = {"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
              "blockquote", "pre", "table", "ul", "ol", "header", "footer", "main", "aside", "nav", "hr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._skipping = 0
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self._tag(tag, opening=True)

    def handle_startendtag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        self._tag(tag, opening=False)

    def _tag(self, tag: str, *, opening: bool) -> None:
        if tag != "title":
            self._in_title = False  # a title holds no tags: an unclosed one ends at the next
        if tag in self.SKIP:
            self._skipping = self._skipping + 1 if opening else max(0, self._skipping - 1)
        elif tag == "title":
            self._in_title = opening
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self._in_title:
            self.title.append(data)
        elif not self._skipping:
            self.parts.append(data)


def _flat_html_text(html: str) -> tuple[str | None, str]:
    parser = _FlatText()
    parser.feed(html)
    # feed() stops at a construct that never closes ("<a", "<!--", "<?" with no end). close() would read it as
    # text up to the next ">" or "<" and go on, scanning to the end again at each such construct: quadratic (CPython
    # gh-135462; a deep page ending in "<a" * 31,000 took 6 s). As the HTML standard has it, and CPython since
    # 3.13.4, such a construct runs to the end of the page, so nothing after it is text.
    if parser.rawdata.startswith("<"):
        parser.rawdata = ""
    parser.close()
    return " ".join("".join(parser.title).split()) or None, "".join(parser.parts)


# A title that a PDF printer wrote rather than the author: the source file's name ("Microsoft Word - report.docx",
# "slides.pptx"), or a word processor's placeholder ("Untitled", "Document1"). The first line of text says more.
_PRINTER_TITLE = re.compile(
    r"(?:Microsoft (?:Word|PowerPoint|Excel) - .*|.*\.(?:docx?|pptx?|xlsx?|odt|odp|rtf|pages|indd)"
    r"|\S+\.(?:txt|pdf|tex|key)|untitled(?: document)?|document\d*|\W*)", re.I)  # "Notes on main.tex" stays


def _author_title(title: str | None) -> str | None:
    return None if title is None or _PRINTER_TITLE.fullmatch(title.strip()) else title


def _extract_pdf(path: Path, data: bytes) -> tuple[str | None, str, str | None, str | None]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    # pypdf logs its own complaints about a broken file ("EOF marker not found"); the one-line error below says it.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = _author_title(reader.metadata.title) if reader.metadata else None
    except FileNotDecryptedError:  # a password to open it (one that only restricts printing or copying reads fine)
        raise errors.UndecodableFile(path, "the PDF needs a password to open; save a copy without one") from None
    except Exception as exc:  # pypdf raises many types on hostile files (its limits on inflating, among them)
        raise errors.UndecodableFile(path, f"not a readable PDF ({type(exc).__name__}: {exc})") from None
    text = join_pages(pages)
    if not text.strip():
        raise errors.EmptyDocument(path, "PDF has no text layer (scanned image?); OCR it first")
    return title, text, None, None


def _first_line(text: str) -> str | None:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line
    return None


def _web_link(url: str | None) -> str | None:
    """The article's own link as its metadata names it (front matter, a page's canonical link), kept only if it is
    an http(s) link: a "javascript:" or malformed one would reach every surface that links to the article."""
    if url is None:
        return None
    try:
        return str(parse_link(url))
    except errors.InvalidRequest:
        return None


# markdown-it's inline parse costs up to ~40 µs a character on a line of brackets ("![" * 250,000: 20 s), and
# little on prose (a 32,000-character paragraph with links: 0.07 s). A line longer than this whose every 50th
# character or more is a bracket is no paragraph a writer wrote, and is kept as written.
_INLINE_MAX = 20_000
_BRACKET_SHARE = 50


def _inline_markdown_as_text(text: str) -> str:
    """Each line as a reader sees it: "**4.4 per cent**" as 4.4 per cent, "[GLAMOS](https://…)" as GLAMOS, an
    image as its alt text, `code` as code. Line by line, so paragraphs, list items and table rows keep their lines;
    fenced code stays as written."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark")
    out, fenced = [], False
    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if (fenced or line.lstrip().startswith(("```", "~~~")) or not re.search(r"[*_`\[\]<&\\]", line)
                or (len(line) > _INLINE_MAX and line.count("[") * _BRACKET_SHARE > len(line))):
            out.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip())]
        tokens = parser.parseInline(line.strip())[0].children or []
        out.append(lead + "".join(_token_text(t) for t in tokens))
    return "\n".join(out)


def _token_text(token) -> str:
    if token.type in ("text", "code_inline", "html_inline"):
        return token.content
    if token.type == "image":
        return "".join(_token_text(child) for child in token.children or [])
    if token.type in ("softbreak", "hardbreak"):
        return " "
    return ""  # the markup of links and emphasis


def _iso_day(value) -> str | None:
    """A front matter date as the day YYYY-MM-DD that filters and "most recent first" read ("March 5, 2024",
    "2024-04-20 09:15:00+01:00"); one that reads as no date is kept as written."""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = _str_or_none(value)
    if text is None:
        return None
    from dateutil import parser

    try:  # a missing month or day is the first, never today's
        return parser.parse(text, default=datetime.datetime(2000, 1, 1)).date().isoformat()
    except (ValueError, OverflowError):
        return text


def _str_or_none(value) -> str | None:
    return str(value).strip() if value not in (None, "") else None
