"""`Assistant`: the one object every surface (chat page, API, CLI, evaluator) holds."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import errors
from .answer import create_backend
from .answer.base import AnswerBackend
from .chain import AnswerChain
from .embeddings import Embedder, get_embedder, name_for
from .index import Index, embedder_kind
from .index.ownership import claim, describe
from .index.vectors import VectorStore
from .ingest.chunking import chunk_article
from .ingest.fetch import LoadedLink, load_link
from .ingest.loaders import article_id_for, iter_files, load_article
from .models import Answer, Article, ArticleInfo, Chunk, Filters, IngestReport, Link, Passage, Turn, parse_link
from .prompts import load_prompts
from .retrieval import HybridRetriever
from .settings import Settings, load_settings
from .store import Store, open_store
from .text import clean_question

log = logging.getLogger("assistant")

#: progress(done_files, total_files, current_path)
ProgressCallback = Callable[[int, int, str], None]

# Chunks embedded and committed together: big enough for efficient batches,
# small enough that a kill mid-ingest loses little finished work.
WRITE_BATCH_CHUNKS = 256


def vector_space(settings: Settings) -> str:
    """The name of the vectors an index built with these settings holds (what an index records)."""
    return name_for(settings.embedder)


def article_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files ``ingest(paths)`` would read: folders expanded (supported suffixes), files as given."""
    return list(iter_files(list(paths)))


def migrate_databases(settings: Settings) -> list[tuple[str, str, str]]:
    """Bring the manifest's and the store's databases to the newest schema; (part, where, revision) of each,
    the URL without its password. Needs no model: `assistant migrate` runs it before a rolling upgrade."""
    from . import database
    from .index.manifest import Manifest, manifest_url
    from .store import database_url

    Manifest.from_settings(settings)
    open_store(settings)
    done = []
    for part, url in (("manifest", manifest_url(settings)), ("store", database_url(settings))):
        revision = ", ".join(sorted(r for r in database.revisions(url) if r.startswith(part)))
        done.append((part, database.redact(url), revision))
    return done


@dataclass(frozen=True)
class IndexStatus:
    articles: int
    vectors: int
    write_problem: str | None  # e.g. the disk is full; None when a write could land
    generation: int = 0  # of the manifest: bumped by every write, in whichever process or replica
    keyword_generation: int | None = None  # the manifest generation this process's keyword index reflects


@contextmanager
def claimed(settings: Settings, command: str, *, url: str | None = None,
            on_wait: Callable[[str], None] | None = None) -> Iterator[Assistant]:
    """An Assistant for one command, holding the index folder for it (see assistant/index/ownership.py):
    a second server, or a command while one serves, is refused naming the holder; commands take turns.
    ``on_wait`` gets a sentence saying whom this command waits for."""

    def waiting(owner: dict) -> None:
        if on_wait:
            on_wait(f"the index at {settings.index_dir} is in use by {describe(owner)}")

    with claim(settings, command, url=url, on_wait=waiting):
        yield Assistant(settings)


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

    @property
    def chunks_left(self) -> int | None:
        return None if self.max_chunks is None else self.max_chunks - self.chunks


class Assistant:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        store: VectorStore | None = None,
        backend: AnswerBackend | None = None,
    ):
        self.settings = settings or load_settings()
        self.embedder = embedder or get_embedder(embedder_kind(self.settings), self.settings.embed_batch_size)
        self.index = Index(self.settings, self.embedder, store)
        self.prompts = load_prompts(Path(self.settings.prompts_dir))
        self.retriever = HybridRetriever(index=self.index, embedder=self.embedder, settings=self.settings)
        # One chain per backend, built on first use; a backend object given here is the default.
        self._default_backend = backend
        self._chains: dict[str, AnswerChain] = {}
        if backend is not None:
            self._chains[backend.name] = AnswerChain(self.retriever, backend)
        self._backends_lock = threading.Lock()

    # --- ingest ------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[str | Path] = (),
        *,
        links: Sequence[Link | LoadedLink] = (),
        on_progress: ProgressCallback | None = None,
        on_written: Callable[[list[str]], None] | None = None,
        sources: dict[str, str] | None = None,
        max_chunks: int | None = None,
    ) -> IngestReport:
        """Ingest files and folders (``paths``, read from this machine) and pages (``links``, fetched; a
        LoadedLink was fetched already, by :meth:`fetch_links`). Bad files are reported in ``failed``; good
        ones still land. A path is never fetched and a link never read from the disk.

        ``sources`` maps a path to the name to record as its source (uploads
        arrive under temporary names). ``max_chunks`` is a request's budget
        (uploads): a file that would take the total over it fails, naming it.
        A full disk fails the files not yet written and stops; what was
        written before stays, and nothing is half-written. ``on_written`` gets
        the paths (or links) of each batch once it is committed.
        """
        if any(isinstance(p, Link) for p in paths) or not all(isinstance(k, (Link, LoadedLink)) for k in links):
            raise TypeError("ingest: links go in links= as Link (parse_link), paths in paths")
        to_fetch = [k for k in links if isinstance(k, Link)]
        fetched = iter(self.fetch_links(to_fetch)) if to_fetch else iter(())
        items: list[Path | LoadedLink] = [k if isinstance(k, LoadedLink) else next(fetched) for k in links]
        items += article_files(paths)
        problem = self.index.free_space_problem()
        if problem:
            raise errors.DiskFull(f"{problem}; nothing was written")
        run = _IngestRun(IngestReport(), max_chunks, on_written=on_written)
        with self.index.writing():
            self.index.sweep_orphans()
            for done, item in enumerate(items, start=1):
                name = str(item.link) if isinstance(item, LoadedLink) else str(item)
                if run.disk_full:
                    run.report.failed.append((name, f"not ingested: {run.disk_full}"))
                else:
                    self._ingest_one(item, run, (sources or {}).get(name))
                if on_progress:
                    on_progress(done, len(items), name)
            self._write(run)
        if run.report.added or run.report.replaced:
            self.retriever.refresh_keyword_index()
        return run.report

    def fetch_links(self, links: Sequence[Link]) -> list[LoadedLink]:
        """Fetch pages, several at a time and outside the index's write lock (a slow site holds up no other
        link and no writer), each within the fetch_deadline_s. Known pages are asked for conditionally."""
        from concurrent.futures import ThreadPoolExecutor

        settings = self.settings
        allow = frozenset(h.strip().lower() for h in settings.fetch_allow_hosts.split(",") if h.strip())

        def load(link: Link) -> LoadedLink:
            known = self.index.manifest.content_hash(article_id_for(link.url)) is not None
            validators = json.loads(self.index.manifest.get_meta(f"fetch:{link.url}") or "{}") if known else {}
            return load_link(link, max_bytes=settings.max_file_bytes, timeout_s=settings.fetch_timeout_s,
                             deadline_s=settings.fetch_deadline_s, allow_hosts=allow, **validators)

        if len(links) <= 1:
            return [load(link) for link in links]
        with ThreadPoolExecutor(max_workers=min(settings.fetch_concurrency, len(links)),
                                thread_name_prefix="assistant-fetch") as pool:
            return list(pool.map(load, links))

    def sync(self, *, on_progress: ProgressCallback | None = None) -> IngestReport:
        """Fetch every article that came from a link again (conditional requests); replace the ones whose text
        changed. A link that fails keeps its old copy and is reported in ``failed``."""
        return self.ingest(links=self._links_of(self.articles()), on_progress=on_progress)

    @staticmethod
    def _links_of(articles: Sequence[ArticleInfo]) -> list[Link]:
        out = []
        for article in articles:
            try:
                out.append(parse_link(article.source, "source"))
            except errors.InvalidRequest:  # a file or an upload: not fetched
                continue
        return out

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
            return
        if article.id in run.seen:
            if run.seen[article.id] != article.content_hash:  # e.g. two uploads named the same
                report.failed.append((name, f"another file of this ingest has the same name ({article.source}) "
                                            "and other content; rename one"))
            else:
                report.unchanged.append(article.id)
            return
        run.seen[article.id] = article.content_hash
        if self.index.is_unchanged(article):
            if keep:  # the same text under new validators: keep them, so the next sync asks with them
                with self.index.disk_full_as_error():
                    self.index.manifest.set_meta_many(keep)
            report.unchanged.append(article.id)
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
                    run.report.chunks_added += self.index.write([(a, c) for _, a, c, _ in part], meta=keep)
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

    def remove(self, article_id: str) -> None:
        with self.index.writing():
            self.index.remove(article_id)
        self.retriever.refresh_keyword_index()

    def reingest(self, article_id: str) -> IngestReport:
        """Ingest an article again from where it came from (its link, or its file on this server)."""
        article = self.article(article_id)
        links = self._links_of([article])
        if links:
            return self.ingest(links=links, max_chunks=self.settings.ingest_max_chunks)
        if not Path(article.source).is_file():
            where = "was uploaded, and uploads are not kept" if article.source.startswith("upload:") else "is gone"
            raise errors.InvalidRequest("article_id", f"{article.title!r} {where}; ingest the file again to replace it")
        return self.ingest([article.source], max_chunks=self.settings.ingest_max_chunks)

    def articles(self) -> list[ArticleInfo]:
        return self.index.articles()

    def article(self, article_id: str) -> Article:
        return self.index.manifest.article(article_id)

    # --- ask ---------------------------------------------------------------
    def backend(self, name: str | None = None) -> AnswerBackend:
        """The backend called ``name`` (default: the one given to the constructor, else ``settings.backend``)."""
        with self._backends_lock:
            name = name or (self._default_backend.name if self._default_backend else self.settings.backend)
            if name not in self._chains:
                backend = create_backend(name, self.settings, self.embedder, self.prompts)
                self._chains[name] = AnswerChain(self.retriever, backend)
            return self._chains[name].backend

    def chain(self, backend: str | None = None) -> AnswerChain:
        self.backend(backend)
        return self._chains[backend or self.backend().name]

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        *,
        backend: str | None = None,
        k: int | None = None,
    ) -> Answer:
        question = self.validate_question(question)
        return self.chain(backend).invoke(question, history, filters, k)

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        *,
        backend: str | None = None,
        k: int | None = None,
    ) -> Iterator[str | Answer]:
        question = self.validate_question(question)
        yield from self.chain(backend).stream(question, history, filters, k)

    def retrieve(self, question: str, filters: Filters | None = None, k: int | None = None) -> list[Passage]:
        return self.retriever.search(self.validate_question(question), filters=filters, k=k)

    def as_retriever(self, k: int | None = None, filters: Filters | None = None) -> HybridRetriever:
        """This index's retrieval as a LangChain retriever, for chains of one's own (``retriever | format_docs``).

        Its Documents carry JSON-serialisable metadata (article_id, title, source, url, published, start, end,
        score). ``k`` (default: settings.top_k) and ``filters`` are its defaults; ``invoke(query, k=..., filters=...)``
        overrides them for one call. It shares this assistant's index and BM25 index, so an ingest shows at once.
        """
        return HybridRetriever(index=self.index, embedder=self.embedder, settings=self.settings, k=k, filters=filters)

    def validate_question(self, question: str) -> str:
        if not isinstance(question, str):
            raise errors.InvalidRequest("question", "must be a string")
        cleaned = clean_question(question)
        if not cleaned:
            raise errors.InvalidRequest("question", "is empty")
        if len(cleaned) > self.settings.max_question_chars:
            raise errors.InvalidRequest(
                "question", f"is {len(cleaned):,} characters; the limit is {self.settings.max_question_chars:,}"
            )
        return cleaned

    # --- state ---------------------------------------------------------------
    @property
    def store(self) -> Store:
        """Conversations, the answers kept in them, and feedback (assistant/store/), opened on first use."""
        return open_store(self.settings)

    def is_empty(self) -> bool:
        return self.index.is_empty()

    def status(self) -> IndexStatus:
        """What is indexed, and whether a write could land now (raises StoreError when the store cannot be read)."""
        keyword = self.retriever.loaded_keyword_index()
        return IndexStatus(
            articles=self.index.manifest.article_count(),
            vectors=self.index.store.count(),
            write_problem=self.index.free_space_problem(),
            generation=self.index.manifest.generation,
            keyword_generation=keyword.generation if keyword else None,
        )

    def chunks(self) -> list[Chunk]:
        """Every live chunk (benches re-embed them)."""
        return self.index.manifest.all_chunks()

    @property
    def refusal_text(self) -> str:
        """What an answer says when the articles do not hold it (prompts/refusal.txt)."""
        return self.prompts.refusal

    def warm_up(self) -> None:
        """Load the models and the keyword index now rather than on the first question."""
        self.embedder.load()
        self.retriever.keyword_index()
        self.backend().warm_up()

    def save_keyword_index(self) -> None:
        """Build and save the keyword index for the index as it is now, so the next process to open it loads it
        rather than tokenising every chunk first (17 s at 100k chunks, bench/query.py)."""
        self.retriever.keyword_index(fresh=True)

    def catch_up(self) -> None:
        """Start rebuilding the keyword index if another process or replica changed the index (servers call
        this every few seconds, so a replica that did not write is current before its next question)."""
        self.retriever.keyword_index()
