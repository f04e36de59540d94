"""Retrieve stage: question (+ filters) → ranked, scored ``[Passage]``.

Dense (Chroma, cosine) and keyword (BM25 via bm25s) rankings are fused by
reciprocal rank. ``HybridRetriever`` is a LangChain retriever, so it composes
into the chain like any other.

The BM25 index (``index.keyword``) reflects one manifest generation. When the
manifest moves on (an ingest), questions keep using the previous BM25 index
while a new one builds in the background, so nobody waits on a rebuild: chunks
it names that are gone are dropped against the manifest, and new ones are
found by the dense side meanwhile. An ingest in this process refreshes it
before returning.
"""

from __future__ import annotations

import logging
import threading

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from .embeddings import Embedder
from .index import Index, chroma_where
from .index.keyword import KeywordIndex, load_or_build
from .models import Chunk, Filters, Passage
from .settings import Settings

log = logging.getLogger("assistant.retrieval")


def passage_document(p: Passage) -> Document:
    """A passage as a LangChain Document whose metadata any serialiser, tracer or cache can take."""
    return Document(
        page_content=p.chunk.text,
        id=p.chunk.id,
        metadata={
            "article_id": p.chunk.article_id, "title": p.title, "source": p.source, "url": p.url,
            "published": p.published, "start": p.chunk.start, "end": p.chunk.end, "score": round(p.score, 4),
        },
    )


class HybridRetriever(BaseRetriever):
    """Dense + BM25, fused by reciprocal rank. A LangChain retriever (Documents) with a typed door (``search``)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Index
    embedder: Embedder
    settings: Settings
    _keyword: KeywordIndex | None = PrivateAttr(default=None)
    # Held while a BM25 index builds (by the thread that builds it); questions never wait on it.
    _keyword_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _rebuilding: bool = PrivateAttr(default=False)
    _rebuild_flag_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    # --- LangChain entry point ---------------------------------------------
    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, filters: Filters | None = None, k: int | None = None
    ) -> list[Document]:
        return [passage_document(p) for p in self.search(query, filters=filters, k=k)]

    # --- typed entry point -------------------------------------------------
    def search(self, question: str, *, filters: Filters | None = None, k: int | None = None) -> list[Passage]:
        k = k or self.settings.top_k
        filters = filters or Filters()
        query_vector = self.embedder.encode_one(question)
        pool = max(k * 4, 20)
        dense = self.index.dense_search(query_vector, pool, chroma_where(filters))
        fused: dict[str, float] = {}
        for rank, hit in enumerate(dense):
            fused[hit.id] = 1.0 / (self.settings.rrf_k + rank + 1)
        if self.settings.hybrid:
            for rank, chunk_id in enumerate(self._keyword_search(question, pool, filters)):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (self.settings.rrf_k + rank + 1)
        ranked = sorted(fused, key=fused.__getitem__, reverse=True)
        chunks = self.index.manifest.chunks(ranked)
        ranked = [cid for cid in ranked if cid in chunks]
        similarity = {h.id: h.similarity for h in dense}
        missing = [cid for cid in ranked[: k * 2] if cid not in similarity]
        if missing:  # keyword-only hits: score them on the same cosine scale as dense ones
            stored = self.index.store.vectors(missing)
            similarity.update((cid, float(vector @ query_vector)) for cid, vector in stored.items())
        return self._to_passages([chunks[cid] for cid in ranked], similarity, k)

    def article_passages(self, article_id: str, limit: int | None = None) -> list[Passage]:
        """An article's chunks in article order (``limit``: its first ones), for overviews of it.

        Raises ArticleNotFound for an id the index does not hold."""
        article = self.index.manifest.article(article_id)
        ids = self.index.manifest.chunk_ids(article_id)
        chunks = sorted(self.index.manifest.chunks(ids).values(), key=lambda c: c.start)[:limit]
        return [
            Passage(chunk=c, title=article.title, source=article.source, score=1.0, rank=i, article_text=article.text,
                    published=article.published, url=article.url)
            for i, c in enumerate(chunks, start=1)
        ]

    def _to_passages(self, chunks: list[Chunk], similarity: dict[str, float], k: int) -> list[Passage]:
        articles: dict = {}
        passages: list[Passage] = []
        seen_texts: list[set[str]] = []
        for chunk in chunks:
            words = set(chunk.text.lower().split())
            # Collapse near-duplicates (the same paragraph ingested from two files).
            if any(len(words & s) / max(1, len(words | s)) > 0.9 for s in seen_texts):
                continue
            seen_texts.append(words)
            if chunk.article_id not in articles:
                articles[chunk.article_id] = self.index.manifest.article(chunk.article_id)
            article = articles[chunk.article_id]
            passages.append(
                Passage(
                    chunk=chunk,
                    title=article.title,
                    source=article.source,
                    score=float(similarity.get(chunk.id, 0.0)),
                    rank=len(passages) + 1,
                    article_text=article.text,
                    published=article.published,
                    url=article.url,
                )
            )
            if len(passages) == k:
                break
        return passages

    # --- keyword side ------------------------------------------------------
    def _keyword_search(self, question: str, k: int, filters: Filters) -> list[str]:
        keyword = self.keyword_index()
        mask = None
        if not filters.empty:
            admitted = [a.id for a in self.index.articles() if filters.admits(a.id, a.source, a.published)]
            mask = np.isin(keyword.article_ids, admitted).astype(np.float32)
        return keyword.search(question, k, mask)

    def keyword_index(self, *, fresh: bool = False) -> KeywordIndex:
        """The BM25 index: current, or the previous one while the current one builds (unless ``fresh``)."""
        current = self._keyword
        if current is not None and current.generation == self.index.manifest.generation:
            return current
        if current is None or fresh:
            with self._keyword_lock:
                if self._keyword is None or self._keyword.generation != self.index.manifest.generation:
                    self._keyword = load_or_build(self.index.manifest, self.index.keyword_dir)
                return self._keyword
        with self._rebuild_flag_lock:  # one background rebuild at a time; a question never waits for it
            if not self._rebuilding:
                self._rebuilding = True
                threading.Thread(target=self._rebuild_keyword_index, name="keyword-index", daemon=True).start()
        return current

    def refresh_keyword_index(self) -> None:
        """After this process changed the index: rebuild now if questions were being answered."""
        if self._keyword is not None:
            self.keyword_index(fresh=True)

    def _rebuild_keyword_index(self) -> None:
        try:
            with self._keyword_lock:  # the same lock a fresh build takes, so the two never build at once
                if self._keyword is None or self._keyword.generation != self.index.manifest.generation:
                    self._keyword = load_or_build(self.index.manifest, self.index.keyword_dir)
        except Exception:  # the stale index keeps serving; the next question tries again
            log.exception("rebuilding the keyword index failed")
        finally:
            self._rebuilding = False
