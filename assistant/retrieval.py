"""Retrieve stage: question (+ filters) → ranked, scored ``[Passage]``.

Dense (Chroma, cosine) and keyword (BM25 via bm25s) rankings are fused by
reciprocal rank. ``HybridRetriever`` is a LangChain retriever, so it composes
into the chain like any other: ``k`` and ``filters`` are its fields (the
defaults of every call), and ``invoke(query, k=..., filters=...)`` overrides
them for one call. ``Assistant.as_retriever`` hands one out.

The BM25 index (``index.keyword``) reflects one manifest generation. When the
manifest moves on (an ingest), questions keep using the previous BM25 index
while a new one builds in the background, so nobody waits on a rebuild: chunks
it names that are gone are dropped against the manifest, and new ones are
found by the dense side meanwhile. An ingest in this process refreshes it
before returning. Every retriever over one ``Index`` shares its BM25 index (one
load, one rebuild, one refresh), however many ``as_retriever`` handed out.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from . import errors
from .embeddings import Embedder
from .index import CollectionScope, Index, chroma_where
from .index.keyword import KeywordIndex, load_or_build
from .models import Chunk, Filters, Passage
from .settings import Settings


def same_page(url: str) -> str:
    """A link as a page: scheme and host in lower case, no fragment or query, no trailing slash."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"

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


class _KeywordState:
    """The BM25 index of one ``Index``, shared by every retriever over it."""

    def __init__(self) -> None:
        self.current: KeywordIndex | None = None
        # Held while a BM25 index builds (by the thread that builds it); questions never wait on it.
        self.build_lock = threading.Lock()
        self.rebuilding = False
        self.flag_lock = threading.Lock()


_KEYWORD_STATES: weakref.WeakKeyDictionary[Index, _KeywordState] = weakref.WeakKeyDictionary()
_KEYWORD_STATES_LOCK = threading.Lock()


def _keyword_state(index: Index) -> _KeywordState:
    with _KEYWORD_STATES_LOCK:
        state = _KEYWORD_STATES.get(index)
        if state is None:
            state = _KEYWORD_STATES[index] = _KeywordState()
        return state


class HybridRetriever(BaseRetriever):
    """Dense + BM25, fused by reciprocal rank. A LangChain retriever (Documents) with a typed door (``search``).

    ``k`` and ``filters`` are what a call uses when it names none: ``HybridRetriever(..., k=3)`` returns
    three Documents, ``invoke(query, k=1)`` one; a call's ``filters`` replace the retriever's (not merged).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Index
    embedder: Embedder
    settings: Settings
    k: int = Field(ge=1, description="Passages a call returns when it names no k (default: settings.top_k).")
    filters: Filters | None = Field(None, description="Filters a call uses when it names none (default: none).")
    _keywords: _KeywordState = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _k_from_settings(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("k") is None and isinstance(data.get("settings"), Settings):
            return {**data, "k": data["settings"].top_k}
        return data

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._keywords = _keyword_state(self.index)

    # --- LangChain entry point ---------------------------------------------
    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        filters: Filters | dict | None = None,
        k: int | None = None,
    ) -> list[Document]:
        if isinstance(filters, dict):  # e.g. from a JSON config: the same fields as the API's
            filters = Filters.model_validate(filters)
        return [passage_document(p) for p in self.search(query, filters=filters, k=k)]

    # --- typed entry points ------------------------------------------------
    def resolve(self, filters: Filters) -> tuple[Filters, CollectionScope | None]:
        """``filters`` checked against the index, with the scope they name: its collections exist
        (CollectionNotFound), links become the ids of the articles at them in scope (the widget on an article's own
        page; others are dropped), and every article id is in scope (InvalidRequest: a scope that names nothing is
        the caller's mistake, not an unanswerable question)."""
        scope = self.index.scope(filters.collections, "filters.collections")
        if filters.urls:
            wanted = {same_page(u) for u in filters.urls}
            found = tuple(i for i, url in self.index.manifest.article_urls()
                          if same_page(url) in wanted and (scope is None or i in scope.articles))
            filters = filters.model_copy(update={"urls": (), "article_ids": filters.article_ids + found})
        unknown = [a for a in filters.article_ids
                   if (a not in scope.articles if scope else self.index.manifest.content_hash(a) is None)]
        if unknown:
            where = f"in the collection(s) {', '.join(scope.names)}" if scope else "in the index"
            raise errors.InvalidRequest("filters.article_ids", f"no article with id {unknown[0]!r} {where}")
        return filters, scope

    def search(self, question: str, *, filters: Filters | None = None, k: int | None = None) -> list[Passage]:
        """The ``k`` best passages (default: this retriever's ``k``) that ``filters`` (default: its own) admit."""
        k = k or self.k
        filters = (filters if filters is not None else self.filters) or Filters()
        # A scope names collections that exist (CollectionNotFound, before any work); both sides search within it.
        scope = self.index.scope(filters.collections, "filters.collections")
        query_vector = self.embedder.encode_one(question)
        pool = max(k * 4, 20)
        dense = self.index.dense_search(query_vector, pool, chroma_where(filters), scope)
        fused: dict[str, float] = {}
        for rank, hit in enumerate(dense):
            fused[hit.id] = 1.0 / (self.settings.rrf_k + rank + 1)
        if self.settings.hybrid:
            for rank, chunk_id in enumerate(self._keyword_search(question, pool, filters, scope)):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (self.settings.rrf_k + rank + 1)
        ranked = sorted(fused, key=fused.__getitem__, reverse=True)
        chunks = self.index.manifest.chunks(ranked)
        if scope is not None:  # the manifest's word on what is in scope, whatever a side returned
            chunks = {cid: c for cid, c in chunks.items() if c.article_id in scope.articles}
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

    def openings(self, article_ids: Sequence[str], limit: int) -> list[Passage]:
        """The first ``limit`` passages of each of these articles, leaving out any removed since it was listed
        (a delete, a feed's prune or a collection's removal while the question is answered)."""
        passages = []
        for article_id in article_ids:
            try:
                passages.extend(self.article_passages(article_id, limit))
            except errors.ArticleNotFound:
                continue
        return passages

    def _article_if_still_there(self, article_id: str):
        try:
            return self.index.manifest.article(article_id)
        except errors.ArticleNotFound:  # removed between the search and this read: its chunks are not answered from
            return None

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
                articles[chunk.article_id] = self._article_if_still_there(chunk.article_id)
            article = articles[chunk.article_id]
            if article is None:
                continue
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
    def _keyword_search(self, question: str, k: int, filters: Filters, scope: CollectionScope | None = None) -> list[str]:
        keyword = self.keyword_index()
        mask = None
        if filters.narrows_articles:
            admitted = [a.id for a in self.index.articles(scope) if filters.admits(a.id, a.source, a.published)]
            mask = np.isin(keyword.article_ids, admitted).astype(np.float32)
        elif scope is not None and not scope.everything:
            mask = keyword.mask_for(scope.articles)
        return keyword.search(question, k, mask)

    def keyword_index(self, *, fresh: bool = False) -> KeywordIndex:
        """The BM25 index: current, or the previous one while the current one builds (unless ``fresh``)."""
        state = self._keywords
        current = state.current
        if current is not None and current.generation == self.index.manifest.generation:
            return current
        if current is None or fresh:
            with state.build_lock:
                if state.current is None or state.current.generation != self.index.manifest.generation:
                    state.current = load_or_build(self.index.manifest, self.index.keyword_dir)
                return state.current
        with state.flag_lock:  # one background rebuild at a time; a question never waits for it
            if not state.rebuilding:
                state.rebuilding = True
                threading.Thread(target=self._rebuild_keyword_index, name="keyword-index", daemon=True).start()
        return current

    def loaded_keyword_index(self) -> KeywordIndex | None:
        """The keyword index as loaded now (None before the first), building nothing."""
        return self._keywords.current

    def refresh_keyword_index(self) -> None:
        """After this process changed the index: rebuild now if questions were being answered."""
        if self._keywords.current is not None:
            self.keyword_index(fresh=True)

    def _rebuild_keyword_index(self) -> None:
        state = self._keywords
        try:
            with state.build_lock:  # the same lock a fresh build takes, so the two never build at once
                if state.current is None or state.current.generation != self.index.manifest.generation:
                    state.current = load_or_build(self.index.manifest, self.index.keyword_dir)
        except Exception:  # the stale index keeps serving; the next question tries again
            log.exception("rebuilding the keyword index failed")
        finally:
            state.rebuilding = False
