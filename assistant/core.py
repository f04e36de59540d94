"""`Assistant`: the one object every surface (chat page, API, CLI, evaluator) holds."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import errors
from .answer import create_backend
from .answer.base import AnswerBackend
from .chain import AnswerChain
from .embeddings import Embedder, get_embedder, name_for
from .index import Index, embedder_kind
from .index.ownership import claim, describe
from .index.vectors import VectorStore
from .ingest.fetch import LoadedLink
from .ingester import Ingester, ProgressCallback, article_files, links_of  # noqa: F401 - article_files: eval's
from .models import Answer, Article, ArticleInfo, Chunk, Filters, IngestReport, Link, Passage, Turn
from .prompts import load_prompts
from .retrieval import HybridRetriever
from .settings import Settings, load_settings
from .store import Store, open_store
from .text import clean_question


def vector_space(settings: Settings) -> str:
    """The name of the vectors an index built with these settings holds (what an index records)."""
    return name_for(settings.embedder)


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
        self.ingester = Ingester(self.settings, self.embedder, self.index, self.retriever)
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
        """Ingest files and folders (``paths``) and pages (``links``): see :meth:`Ingester.ingest`."""
        return self.ingester.ingest(paths, links=links, on_progress=on_progress, on_written=on_written,
                                    sources=sources, max_chunks=max_chunks)

    def fetch_links(self, links: Sequence[Link]) -> list[LoadedLink]:
        """Fetch pages several at a time, outside the write lock (:meth:`Ingester.fetch_links`)."""
        return self.ingester.fetch_links(links)

    def sync(self, *, on_progress: ProgressCallback | None = None) -> IngestReport:
        """Fetch every article that came from a link again (conditional requests); replace the ones whose text
        changed. A link that fails keeps its old copy and is reported in ``failed``."""
        return self.ingest(links=links_of(self.articles()), on_progress=on_progress)

    def remove(self, article_id: str) -> None:
        with self.index.writing():
            self.index.remove(article_id)
        self.retriever.refresh_keyword_index()

    def reingest(self, article_id: str) -> IngestReport:
        """Ingest an article again from where it came from (its link, or its file on this server)."""
        article = self.article(article_id)
        links = links_of([article])
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
