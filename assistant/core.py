"""`Assistant`: the one object every surface (chat page, API, CLI, evaluator) holds."""

from __future__ import annotations

import json
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
from .ingest.fetch import is_link, load_link
from .ingest.loaders import article_id_for, iter_files, load_article
from .models import Answer, Article, ArticleInfo, Chunk, Filters, IngestReport, Passage, Turn
from .prompts import load_prompts
from .retrieval import HybridRetriever
from .settings import Settings, load_settings
from .store import Store, open_store
from .text import clean_question

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
    batch: list[tuple[str, Article, list[Chunk]]] = field(default_factory=list)  # (path, article, chunks) unwritten
    chunks: int = 0
    disk_full: str | None = None

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
        paths: Sequence[str | Path],
        *,
        on_progress: ProgressCallback | None = None,
        sources: dict[str, str] | None = None,
        max_chunks: int | None = None,
    ) -> IngestReport:
        """Ingest files and folders. Bad files are reported in ``failed``; good ones still land.

        ``sources`` maps a path to the name to record as its source (uploads
        arrive under temporary names). ``max_chunks`` is a request's budget
        (uploads): a file that would take the total over it fails, naming it.
        A full disk fails the files not yet written and stops; what was
        written before stays, and nothing is half-written.
        """
        files = [p for p in map(str, paths) if is_link(p)] + article_files([p for p in paths if not is_link(str(p))])
        problem = self.index.free_space_problem()
        if problem:
            raise errors.DiskFull(f"{problem}; nothing was written")
        run = _IngestRun(IngestReport(), max_chunks)
        with self.index.writing():
            self.index.sweep_orphans()
            for done, path in enumerate(files, start=1):
                if run.disk_full:
                    run.report.failed.append((str(path), f"not ingested: {run.disk_full}"))
                else:
                    self._ingest_one(path, run, (sources or {}).get(str(path)))
                if on_progress:
                    on_progress(done, len(files), str(path))
            self._write(run)
        if run.report.added or run.report.replaced:
            self.retriever.refresh_keyword_index()
        return run.report

    def sync(self, *, on_progress: ProgressCallback | None = None) -> IngestReport:
        """Fetch every article that came from a link again (conditional requests); replace the ones whose text
        changed. A link that fails keeps its old copy and is reported in ``failed``."""
        links = [a.source for a in self.articles() if is_link(a.source)]
        return self.ingest(links, on_progress=on_progress)

    def _load(self, path: Path | str, source: str | None) -> Article | None:
        """The article at a path or link; None when a conditional fetch says the link did not change."""
        if not is_link(str(path)):
            return load_article(path, max_bytes=self.settings.max_file_bytes, source=source)
        url = str(path)
        validators = json.loads(self.index.manifest.get_meta(f"fetch:{url}") or "{}")
        known = self.index.manifest.content_hash(article_id_for(url)) is not None
        article, fetched = load_link(
            url, max_bytes=self.settings.max_file_bytes, timeout_s=self.settings.fetch_timeout_s,
            allow_hosts=frozenset(h.strip().lower() for h in self.settings.fetch_allow_hosts.split(",") if h.strip()),
            **(validators if known else {}),
        )
        self.index.manifest.set_meta(f"fetch:{url}", json.dumps({"etag": fetched.etag, "last_modified": fetched.last_modified}))
        return article

    def _ingest_one(self, path: Path | str, run: _IngestRun, source: str | None) -> None:
        report = run.report
        try:
            article = self._load(path, source)
        except errors.IngestError as exc:
            report.failed.append((exc.path, exc.reason))
            return
        if article is None:  # a link that answered 304 Not Modified
            report.unchanged.append(article_id_for(str(path)))
            return
        if article.id in run.seen:
            if run.seen[article.id] != article.content_hash:  # e.g. two uploads named the same
                report.failed.append((str(path), f"another file of this ingest has the same name ({article.source}) "
                                                 "and other content; rename one"))
            else:
                report.unchanged.append(article.id)
            return
        run.seen[article.id] = article.content_hash
        if self.index.is_unchanged(article):
            report.unchanged.append(article.id)
            return
        chunks = self._chunk(article, run.chunks_left)
        if chunks is None:
            report.failed.append((str(path), f"over this upload's budget of {run.max_chunks:,} chunks "
                                             "(ingest_max_chunks); split the file, or ingest it with `assistant ingest`"))
            return
        known = self.index.manifest.content_hash(article.id) is not None
        (report.replaced if known else report.added).append(article.id)
        run.batch.append((str(path), article, chunks))
        run.chunks += len(chunks)
        if sum(len(c) for _, _, c in run.batch) >= WRITE_BATCH_CHUNKS:
            self._write(run)

    def _write(self, run: _IngestRun) -> None:
        """Write the pending batch; on a full disk, its files fail and the rest of the run is skipped."""
        batch, run.batch = run.batch, []
        if not batch:
            return
        try:
            with self.index.disk_full_as_error():
                run.report.chunks_added += self.index.write([(a, c) for _, a, c in batch])
        except errors.DiskFull as exc:
            run.disk_full = str(exc)
            for path, article, _ in batch:
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
        if not is_link(article.source) and not Path(article.source).is_file():
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
