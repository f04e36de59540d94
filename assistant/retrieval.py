"""Retrieve stage: question (+ filters) → ranked, scored ``[Passage]``.

Dense (Chroma, cosine) and keyword (BM25 via bm25s) rankings are fused by
reciprocal rank. The BM25 index lives in memory and is rebuilt when the
manifest's generation changes. ``HybridRetriever`` is a LangChain retriever,
so it composes into the chain like any other.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import bm25s
import numpy as np
import Stemmer
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from .embeddings import Embedder
from .index import Index, published_ordinal
from .models import Chunk, Passage
from .settings import Settings

_stemmer = Stemmer.Stemmer("english")


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some articles; every field is optional."""

    article_ids: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    published_from: str | None = None  # ISO dates, inclusive
    published_to: str | None = None

    def chroma_where(self) -> dict | None:
        clauses: list[dict] = []
        if self.article_ids:
            clauses.append({"article_id": {"$in": list(self.article_ids)}})
        if self.sources:
            clauses.append({"source": {"$in": list(self.sources)}})
        if self.published_from:
            clauses.append({"published": {"$gte": published_ordinal(self.published_from)}})
        if self.published_to:
            clauses.append({"published": {"$lte": published_ordinal(self.published_to)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def admits(self, article_id: str, source: str, published: str | None) -> bool:
        if self.article_ids and article_id not in self.article_ids:
            return False
        if self.sources and source not in self.sources:
            return False
        day = published_ordinal(published)
        if self.published_from and day < published_ordinal(self.published_from):
            return False
        if self.published_to and (day == 0 or day > published_ordinal(self.published_to)):
            return False
        return True


def keyword_tokens(text: str) -> list[str]:
    return bm25s.tokenize(text, stopwords="en", stemmer=_stemmer, return_ids=False, show_progress=False)[0]


@dataclass
class _KeywordIndex:
    generation: int
    chunks: list[Chunk]
    bm25: bm25s.BM25 | None
    article_meta: dict[str, tuple[str, str | None]] = field(default_factory=dict)


class HybridRetriever(BaseRetriever):
    """Dense + BM25, fused by reciprocal rank; returns Documents carrying a :class:`Passage`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Index
    embedder: Embedder
    settings: Settings
    _keyword: _KeywordIndex | None = None
    _keyword_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    # --- LangChain entry point ---------------------------------------------
    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, filters: Filters | None = None, k: int | None = None
    ) -> list[Document]:
        return [
            Document(page_content=p.chunk.text, metadata={"passage": p, "article_id": p.chunk.article_id, "score": p.score})
            for p in self.search(query, filters=filters, k=k)
        ]

    # --- typed entry point -------------------------------------------------
    def search(self, question: str, *, filters: Filters | None = None, k: int | None = None) -> list[Passage]:
        k = k or self.settings.top_k
        filters = filters or Filters()
        query_vector = self.embedder.encode_one(question)
        pool = max(k * 4, 20)
        dense = self.index.dense_search(query_vector, pool, filters.chroma_where())
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
                )
            )
            if len(passages) == k:
                break
        return passages

    # --- keyword side ------------------------------------------------------
    def _keyword_search(self, question: str, k: int, filters: Filters) -> list[str]:
        keyword = self._keyword_index()
        if keyword.bm25 is None:
            return []
        tokens = keyword_tokens(question)
        if not tokens:
            return []
        mask = None
        if filters != Filters():
            mask = np.array(
                [filters.admits(c.article_id, *keyword.article_meta[c.article_id]) for c in keyword.chunks], dtype=np.float32
            )
        k = min(k, len(keyword.chunks))
        docs, scores = keyword.bm25.retrieve([tokens], k=k, show_progress=False, weight_mask=mask, n_threads=1)
        return [keyword.chunks[i].id for i, s in zip(docs[0], scores[0]) if s > 0]

    def _keyword_index(self) -> _KeywordIndex:
        generation = self.index.manifest.generation
        current = self._keyword
        if current is not None and current.generation == generation:
            return current
        with self._keyword_lock:
            if self._keyword is not None and self._keyword.generation == generation:
                return self._keyword
            chunks = self.index.manifest.all_chunks()
            bm25 = None
            if chunks:
                corpus = bm25s.tokenize(
                    [c.text for c in chunks], stopwords="en", stemmer=_stemmer, show_progress=False
                )
                bm25 = bm25s.BM25()
                bm25.index(corpus, show_progress=False)
            meta = {a.id: (a.source, a.published) for a in self.index.articles()}
            self._keyword = _KeywordIndex(generation, chunks, bm25, meta)
            return self._keyword

