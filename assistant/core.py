"""`Assistant`: the one object every surface (chat page, API, CLI, evaluator) holds."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from . import errors
from .answer import Turn, create_backend
from .answer.base import AnswerBackend
from .chain import AnswerChain
from .embeddings import Embedder, get_embedder
from .index import Index, embedder_kind
from .index.vectors import VectorStore
from .ingest.chunking import chunk_article
from .ingest.loaders import iter_files, load_article
from .models import Answer, Article, ArticleInfo, Chunk, IngestReport, Passage
from .prompts import load_prompts
from .retrieval import Filters, HybridRetriever
from .settings import Settings, load_settings
from .text import clean_question

#: progress(done_files, total_files, current_path)
ProgressCallback = Callable[[int, int, str], None]

# Chunks embedded and committed together: big enough for efficient batches,
# small enough that a kill mid-ingest loses little finished work.
WRITE_BATCH_CHUNKS = 256


class Assistant:
    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None, store: VectorStore | None = None):
        self.settings = settings or load_settings()
        self.embedder = embedder or get_embedder(embedder_kind(self.settings), self.settings.embed_batch_size)
        self.index = Index(self.settings, self.embedder, store)
        self.prompts = load_prompts(Path(self.settings.prompts_dir))
        self.retriever = HybridRetriever(index=self.index, embedder=self.embedder, settings=self.settings)
        self._backends: dict[str, AnswerBackend] = {}
        self._backends_lock = threading.Lock()

    # --- ingest ------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[str | Path],
        *,
        on_progress: ProgressCallback | None = None,
        sources: dict[str, str] | None = None,
    ) -> IngestReport:
        """Ingest files and folders. Bad files are reported in ``failed``; good ones still land.

        ``sources`` maps a path to the name to record as its source (uploads
        arrive under temporary names).
        """
        files = list(iter_files(list(paths)))
        report = IngestReport()
        batch: list[tuple[Article, list[Chunk]]] = []
        batch_chunks = 0
        seen: set[str] = set()
        with self.index.writing():
            self.index.sweep_orphans()
            for done, path in enumerate(files, start=1):
                try:
                    article = load_article(path, max_bytes=self.settings.max_file_bytes, source=(sources or {}).get(str(path)))
                except errors.IngestError as exc:
                    report.failed.append((exc.path, exc.reason))
                else:
                    if article.id in seen or self.index.is_unchanged(article):
                        report.unchanged.append(article.id)
                    else:
                        seen.add(article.id)
                        known = self.index.manifest.content_hash(article.id) is not None
                        (report.replaced if known else report.added).append(article.id)
                        chunks = self._chunk(article)
                        batch.append((article, chunks))
                        batch_chunks += len(chunks)
                        if batch_chunks >= WRITE_BATCH_CHUNKS:
                            report.chunks_added += self.index.write(batch)
                            batch, batch_chunks = [], 0
                if on_progress:
                    on_progress(done, len(files), str(path))
            report.chunks_added += self.index.write(batch)
        if report.added or report.replaced:
            self.retriever.refresh_keyword_index()
        return report

    def _chunk(self, article: Article) -> list[Chunk]:
        return chunk_article(
            article, self.embedder.count_tokens, size=self.settings.chunk_tokens, overlap=self.settings.chunk_overlap_tokens
        )

    def remove(self, article_id: str) -> None:
        with self.index.writing():
            self.index.remove(article_id)
        self.retriever.refresh_keyword_index()

    def articles(self) -> list[ArticleInfo]:
        return self.index.articles()

    def article(self, article_id: str) -> Article:
        return self.index.manifest.article(article_id)

    # --- ask ---------------------------------------------------------------
    def backend(self, name: str | None = None) -> AnswerBackend:
        name = name or self.settings.backend
        with self._backends_lock:
            if name not in self._backends:
                self._backends[name] = create_backend(name, self.settings, self.embedder, self.prompts)
            return self._backends[name]

    def chain(self, backend: str | None = None) -> AnswerChain:
        return AnswerChain(self.retriever, self.backend(backend))

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

    def warm_up(self) -> None:
        """Load the models and the keyword index now rather than on the first question."""
        self.embedder.load()
        self.retriever.keyword_index()
