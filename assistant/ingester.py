"""Taking files and links into the index: the orchestration of load → chunk → embed → write for one ingest.

The door (:class:`assistant.core.Assistant`) delegates here. One ingest fetches its links first (several at a
time, outside the index's write lock), then, holding the lock, reads each file, chunks what changed and writes
in batches (``WRITE_BATCH_CHUNKS``): a batch is one commit, so a kill mid-ingest leaves whole articles only. Bad
files fail alone, each with its reason; a write that would not fit on the disk is tried file by file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import errors
from .embeddings import Embedder
from .index import Index
from .ingest.chunking import chunk_article
from .ingest.feeds import Feed, FeedItem, item_article
from .ingest.fetch import LoadedLink, load_link
from .ingest.loaders import article_id_for, is_folder, iter_files, load_article
from .models import DEFAULT_COLLECTION, Article, ArticleInfo, Chunk, IngestReport, Link, parse_link
from .retrieval import HybridRetriever
from .settings import Settings

log = logging.getLogger("assistant")

#: progress(done_files, total_files, current_path): before each file, naming it (a long one is seen being read),
#: and once more, total of total, when the last is written.
ProgressCallback = Callable[[int, int, str], None]

# Chunks embedded and committed together: big enough for efficient batches,
# small enough that a kill mid-ingest loses little finished work.
WRITE_BATCH_CHUNKS = 256


def article_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files ``ingest(paths)`` would read: folders expanded (supported suffixes), files as given."""
    return list(iter_files(list(paths)))


def _prune_roots(paths: Sequence[str | Path]) -> list[Path]:
    """The folders among ``paths`` that ``prune`` mirrors; InvalidRequest naming ``prune`` when there is none."""
    given = [Path(p) for p in paths if not isinstance(p, Link)]
    folders = [p.resolve() for p in given if is_folder(p)]
    if not folders:
        missing = next((p for p in given if not _exists(p)), None)
        why = f"{missing}: no such folder" if missing is not None else "none of the paths is a folder"
        raise errors.InvalidRequest("prune", f"{why}; prune mirrors a folder, so name the one the files are in")
    return folders


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long: no such file can be there
        return False


def file_is_gone(source: Path) -> bool:
    """Whether the file certainly is not there any more: a file that cannot be looked at (a folder on the way that
    cannot be read, a disk that fails) may well be, and keeps its article."""
    try:
        source.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def is_pageless_feed_item(article: ArticleInfo | Article) -> bool:
    """A feed's item with no page of its own: its source is the feed's link and the item's id, FEED#ID, and only
    its feed can say it again."""
    return "#" in article.source and not article.url


def links_of(articles: Sequence[ArticleInfo | Article]) -> list[Link]:
    """The links the articles came from (files and uploads have none, nor has a feed's item without a page)."""
    out = []
    for article in articles:
        if is_pageless_feed_item(article):
            continue
        try:
            out.append(parse_link(article.source, "source"))
        except errors.InvalidRequest:
            continue
    return out


@dataclass
class _IngestRun:
    """What one ingest call has done so far."""

    report: IngestReport
    max_chunks: int | None
    seen: dict[str, str] = field(default_factory=dict)  # article id -> content hash
    # (path or link, article, chunks, what to keep beside it: a link's validators) not yet written
    batch: list[tuple[str, Article, list[Chunk], dict[str, str]]] = field(default_factory=list)
    chunks: int = 0
    disk_full: str | None = None
    on_written: Callable[[list[str]], None] | None = None
    collection_id: int | None = None  # where the articles go (None: default)

    @property
    def chunks_left(self) -> int | None:
        return None if self.max_chunks is None else self.max_chunks - self.chunks


class Ingester:
    def __init__(self, settings: Settings, embedder: Embedder, index: Index, retriever: HybridRetriever):
        self.settings = settings
        self.embedder = embedder
        self.index = index
        self.retriever = retriever

    def ingest(
        self,
        paths: Sequence[str | Path] = (),
        *,
        links: Sequence[Link | LoadedLink] = (),
        on_progress: ProgressCallback | None = None,
        on_written: Callable[[list[str]], None] | None = None,
        sources: dict[str, str] | None = None,
        max_chunks: int | None = None,
        collection_id: int | None = None,
        prune: bool = False,
    ) -> IngestReport:
        """Ingest files and folders (``paths``, read from this machine) and pages (``links``, fetched; a
        LoadedLink was fetched already, by :meth:`fetch_links`). Bad files are reported in ``failed``; good
        ones still land. A path is never fetched and a link never read from the disk.

        ``sources`` maps a path to the name to record as its source (uploads
        arrive under temporary names). ``max_chunks`` is a request's budget
        (uploads): a file that would take the total over it fails, naming it.
        A full disk fails the files not yet written and stops; what was
        written before stays, and nothing is half-written. ``on_written`` gets
        the paths (or links) of each batch once it is committed. Every article lands in the collection
        ``collection_id`` (default: ``default``), besides any it is in already: an unchanged one is put in it
        without being read again.

        ``prune``: the index mirrors the folders in ``paths``: an article read from a file under one of them that
        is no longer there (deleted, moved, renamed) is removed, into ``removed``. Nothing is removed under a
        folder with no article file in it (an unmounted disk looks like that) or one that cannot be listed (the
        run reports both failed), nor after a full disk stopped the run.
        """
        if any(isinstance(p, Link) for p in paths) or not all(isinstance(k, (Link, LoadedLink)) for k in links):
            raise TypeError("ingest: links go in links= as Link (parse_link), paths in paths")
        fetched = iter(self._fetch([k for k in links if isinstance(k, Link)], feeds=True))
        items: list[Path | LoadedLink] = []
        for given in links:  # each in its place; a feed's link becomes its items
            loaded = next(fetched) if isinstance(given, Link) else given
            items += self.feed_items(loaded.feed) if loaded.feed is not None else [loaded]
        files = article_files(paths)
        items += files
        roots = _prune_roots(paths) if prune else []
        problem = self.index.free_space_problem()
        if problem:
            raise errors.DiskFull(f"{problem}; nothing was written")
        run = _IngestRun(IngestReport(), max_chunks, on_written=on_written, collection_id=collection_id)
        with self.index.writing():
            self.index.ensure_partitions()  # an earlier copy that was interrupted
            self.index.manifest.forget_gone_members()  # what an older version left (manifest.py, sweep_orphans)
            unfiled = self.index.manifest.unfiled()  # written by an older replica mid-upgrade: into default
            if unfiled:
                self.index.join(unfiled, self.index.manifest.collection_id(DEFAULT_COLLECTION))
            self.index.sweep_orphans()
            name = ""
            for done, item in enumerate(items):
                name = str(item.link) if isinstance(item, LoadedLink) else str(item)
                if on_progress:
                    on_progress(done, len(items), name)
                if run.disk_full:
                    run.report.failed.append((name, f"not ingested: {run.disk_full}"))
                else:
                    self._ingest_one(item, run, (sources or {}).get(name))
            self._write(run)
            if on_progress and items:
                on_progress(len(items), len(items), name)
            if roots and not run.disk_full:
                self._prune(roots, files, run.report)
        if run.report.added or run.report.replaced or run.report.removed:
            self.retriever.refresh_keyword_index()
        return run.report

    def fetch_links(self, links: Sequence[Link], *, feeds: bool = True) -> list[LoadedLink]:
        """Fetch pages, several at a time and outside the index's write lock (a slow site holds up no other
        link and no writer), each within the fetch_deadline_s. Known pages are asked for conditionally. A link
        that is an RSS or Atom feed comes back as its items (:meth:`feed_items`), or as its error (``feeds``
        False: as an error: a page that became a feed is not its items)."""
        out: list[LoadedLink] = []
        for loaded in self._fetch(links, feeds=feeds):
            out += self.feed_items(loaded.feed) if loaded.feed is not None else [loaded]
        return out

    def fetch_feed(self, link: Link, etag: str | None = None, last_modified: str | None = None) -> LoadedLink:
        """A feed, asked for conditionally: its ``feed``, or ``not_modified``, or its ``error`` (also when the link
        is no RSS or Atom feed, whatever it is served as)."""
        return self._load_link(link, feeds=True, feed_only=True, etag=etag, last_modified=last_modified)

    def feed_items(self, feed: Feed, known: dict[str, str] | None = None) -> list[LoadedLink]:
        """A feed's items as loaded links: each an article from the feed's own full text, else its page fetched
        like any link (several at a time), titled and dated as the feed says. An item ``known`` with the same
        fingerprint (article id -> what the feed said of it last time) that is still indexed is not read again:
        it comes back unchanged (``not_modified``)."""
        out: list[LoadedLink | None] = []
        pages: list[tuple[int, FeedItem, Link]] = []
        for item in feed.items:
            try:
                link = parse_link(item.source, "item link")
            except errors.InvalidRequest as exc:  # named by the feed's link; the error names the item's
                out.append(LoadedLink(parse_link(feed.url, "feed"), None, {}, errors.FetchError(item.source, exc.reason)))
                continue
            unchanged = (known or {}).get(item.article_id) == item.fingerprint
            if unchanged and self.index.manifest.content_hash(item.article_id) is not None:
                out.append(LoadedLink(link, None, {}, not_modified=True))
            elif item.full_text is not None or item.link is None:
                try:
                    out.append(LoadedLink(link, item_article(item), {}, described_by_feed=True))
                except errors.IngestError as exc:
                    out.append(LoadedLink(link, None, {}, exc))
            else:
                pages.append((len(out), item, link))
                out.append(None)
        # Changed in the feed since the last poll: the page is read whole (a 304 would say nothing of the feed's
        # new title); others are asked for as any link is
        changed = {link.url for _, item, link in pages if item.article_id in (known or {})}
        for (at, item, _), loaded in zip(pages, self._fetch([link for _, _, link in pages], feeds=False,
                                                             whole=changed)):
            if loaded.article is not None:  # the feed's title, link and date, over what the page says
                loaded = replace(loaded, described_by_feed=True, article=replace(
                    loaded.article, title=item.title or loaded.article.title, url=item.link,
                    published=item.published or loaded.article.published))
            out[at] = loaded
        return [loaded for loaded in out if loaded is not None]

    def _fetch(self, links: Sequence[Link], *, feeds: bool, whole: frozenset[str] | set[str] = frozenset()
               ) -> list[LoadedLink]:
        """The links loaded, several at a time; those known asked for conditionally, but for ``whole``'s urls."""
        settings = self.settings

        def load(link: Link) -> LoadedLink:
            known = link.url not in whole and self.index.manifest.content_hash(article_id_for(link.url)) is not None
            validators = json.loads(self.index.manifest.get_meta(f"fetch:{link.url}") or "{}") if known else {}
            return self._load_link(link, feeds=feeds, **validators)

        if len(links) <= 1:
            return [load(link) for link in links]
        with ThreadPoolExecutor(max_workers=min(settings.fetch_concurrency, len(links)),
                                thread_name_prefix="assistant-fetch") as pool:
            return list(pool.map(load, links))

    def _load_link(self, link: Link, **options) -> LoadedLink:
        settings = self.settings
        allow = frozenset(h.strip().lower() for h in settings.fetch_allow_hosts.split(",") if h.strip())
        return load_link(link, max_bytes=settings.max_file_bytes, timeout_s=settings.fetch_timeout_s,
                         deadline_s=settings.fetch_deadline_s, allow_hosts=allow,
                         feed_max_items=settings.feed_max_items, **options)

    def _load(self, item: Path | LoadedLink, source: str | None) -> tuple[Article | None, dict[str, str]]:
        """The article and what to keep beside it; (None, {}) when a conditional fetch says it did not change."""
        if isinstance(item, LoadedLink):
            if item.error is not None:
                raise item.error
            validators = {} if item.article is None else {f"fetch:{item.link.url}": json.dumps(item.validators)}
            return item.article, validators
        try:
            return load_article(item, max_bytes=self.settings.max_file_bytes, source=source), {}
        except errors.AssistantError:
            raise
        except Exception as exc:  # a loader's bug or a library's on a hostile file: this file fails, not the run
            log.exception("reading %s failed", item)
            raise errors.UndecodableFile(item, f"could not be read ({type(exc).__name__})") from None

    def _ingest_one(self, item: Path | LoadedLink, run: _IngestRun, source: str | None) -> None:
        report = run.report
        name = str(item.link) if isinstance(item, LoadedLink) else str(item)
        try:
            article, keep = self._load(item, source)
        except errors.IngestError as exc:
            report.failed.append((exc.path, exc.reason))
            return
        if article is None:  # a link that answered 304 Not Modified
            report.unchanged.append(article_id_for(name))
            self._join(article_id_for(name), run)
            return
        if article.id in run.seen:
            if run.seen[article.id] != article.content_hash:  # e.g. two uploads named the same
                report.failed.append((name, f"another file of this ingest has the same name ({article.source}) "
                                            "and other content; rename one"))
            else:
                report.unchanged.append(article.id)
            return
        run.seen[article.id] = article.content_hash
        # A file says its own title and date (front matter): a new one alone is a change, and so is a feed's for its
        # item. A page's may come from elsewhere (a feed's item read by its page keeps the feed's), so a page
        # alone is changed by its text only.
        page_alone = isinstance(item, LoadedLink) and not item.described_by_feed
        if self.index.is_unchanged(article, text_only=page_alone):
            if keep:  # the same text under new validators: keep them, so the next sync asks with them
                try:
                    with self.index.disk_full_as_error():
                        self.index.manifest.set_meta_many(keep)
                except errors.DiskFull:  # the old validators stay: the next sync just fetches the page whole
                    log.warning("could not keep the new validators of %s: the disk is full", name)
            report.unchanged.append(article.id)
            self._join(article.id, run)
            return
        chunks = self._chunk(article, run.chunks_left)
        if chunks is None:
            report.failed.append((name, f"over this upload's budget of {run.max_chunks:,} chunks "
                                        "(ingest_max_chunks); split the file, or ingest it with `assistant ingest`"))
            return
        known = self.index.manifest.content_hash(article.id) is not None
        (report.replaced if known else report.added).append(article.id)
        run.batch.append((name, article, chunks, keep))
        run.chunks += len(chunks)
        if sum(len(c) for _, _, c, _ in run.batch) >= WRITE_BATCH_CHUNKS:
            self._write(run)

    def _prune(self, roots: list[Path], files: list[Path], report: IngestReport) -> None:
        """Remove the articles of files gone from under ``roots`` (the caller holds the lock). Nothing is removed
        under a folder that stood for no files: one with no article file in it (an unmounted disk's mount point
        looks like that) or one that could not be listed; their failures say so."""
        listed = {article_id_for(str(f.resolve())) for f in files}
        held = [f.resolve() for f in files if is_folder(f)]
        for article in self.index.articles():
            source = Path(article.source)  # a file's source is its absolute path; a link's or an upload's is not one
            if (article.id not in listed and source.is_absolute()
                    and any(source.is_relative_to(root) for root in roots)
                    and not any(source.is_relative_to(folder) for folder in held) and file_is_gone(source)):
                self.index.remove(article.id)
                report.removed.append(article.id)
                log.info("removed article %s: %s is no longer there", article.id, article.source)
        report.failed = [(path, f"{reason}; prune removed nothing under it")
                         if Path(path).resolve() in held else (path, reason) for path, reason in report.failed]

    def _join(self, article_id: str, run: _IngestRun) -> None:
        """An unchanged article named again into another collection joins it (its text is not written again)."""
        if run.collection_id is not None and self.index.manifest.content_hash(article_id) is not None:
            run.report.joined += self.index.join([article_id], run.collection_id)

    def _write(self, run: _IngestRun) -> None:
        """Write the pending batch. When it would not fit on the disk, its files are written one by one, in
        order: those that fit land, the first that does not fails naming the disk, and the rest of the run is
        skipped. A link's validators are committed with its text, so a run killed before the write keeps neither."""
        batch, run.batch = run.batch, []
        if not batch:
            return
        fits = self.index.room_problem([c for _, _, chunks, _ in batch for c in chunks]) is None
        parts = [batch] if fits else [[one] for one in batch]
        for i, part in enumerate(parts):
            keep = {k: v for _, _, _, kept in part for k, v in kept.items()}
            try:
                with self.index.disk_full_as_error():
                    run.report.chunks_added += self.index.write([(a, c) for _, a, c, _ in part], meta=keep,
                                                                collection_id=run.collection_id)
            except errors.DiskFull as exc:
                self._failed_to_write(run, [one for rest in parts[i:] for one in rest], exc)
                return
            if run.on_written:
                run.on_written([path for path, _, _, _ in part])

    @staticmethod
    def _failed_to_write(run: _IngestRun, batch: list, exc: errors.DiskFull) -> None:
        run.disk_full = str(exc)
        for path, article, _, _ in batch:
            for ids in (run.report.added, run.report.replaced):
                if article.id in ids:
                    ids.remove(article.id)
            run.report.failed.append((path, str(exc)))

    def _chunk(self, article: Article, budget: int | None = None) -> list[Chunk] | None:
        """The article's chunks, or None when they would be more than ``budget``."""
        size, overlap = self.settings.chunk_tokens, self.settings.chunk_overlap_tokens
        # A chunk advances at least (size - overlap) tokens of ~6 characters or fewer, so this many chunks at the
        # least: an article certainly over the budget is refused before paying for its tokenisation.
        if budget is not None and len(article.text) / ((size - overlap) * 6) > budget:
            return None
        chunks = chunk_article(article, self.embedder.count_tokens, size=size, overlap=overlap)
        return None if budget is not None and len(chunks) > budget else chunks
