"""Index stage: ``[Chunk]`` → stored vectors, with a manifest that makes writes atomic.

Write order for a batch of articles (each step safe to die after):
1. embed and upsert the new chunks' vectors (ids carry the content hash, so
   they never overwrite the live version);
2. commit the manifest (one SQL transaction): the new chunks become live;
3. delete the replaced chunks' vectors.
Readers only trust chunk ids the manifest lists, so a crash between 1 and 2
leaves the index answering exactly as before; the next write sweeps the orphans.

Writers take turns: through a lock file in the index folder, or, with the manifest
in a database server (``database_url``), through that database (writer_lock.py),
so replicas on several hosts serialise their ingests too.
"""

from __future__ import annotations

import errno
import shutil
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .. import database, errors
from ..embeddings import DEFAULT_KIND, Embedder, kind_for_name
from ..models import Article, ArticleInfo, Chunk, Filters, day_number
from ..registry import STORES
from ..settings import Settings
from .manifest import Manifest
from .vectors import ChromaVectorStore, VectorHit, VectorStore
from .writer_lock import WriterLock

__all__ = ["Index", "Manifest", "VectorStore", "ChromaVectorStore", "VectorHit"]


def chroma_where(filters: Filters) -> dict | None:
    """The filters as a Chroma ``where`` clause over the chunk metadata written by :meth:`Index.write`."""
    clauses: list[dict] = []
    if filters.article_ids:
        clauses.append({"article_id": {"$in": list(filters.article_ids)}})
    if filters.sources:
        clauses.append({"source": {"$in": list(filters.sources)}})
    if filters.published_from:
        clauses.append({"published": {"$gte": day_number(filters.published_from)}})
    if filters.published_to:
        clauses.append({"published": {"$lte": day_number(filters.published_to)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def embedder_kind(settings: Settings) -> str:
    """The embedder to open the index with: the configured one, else the one that built it."""
    if settings.embedder != "auto":
        return settings.embedder
    recorded = Manifest.from_settings(settings).get_meta("embedder") if Manifest.exists(settings) else None
    # An index from an unknown embedder opens with the default, and Index then refuses it clearly.
    return (kind_for_name(recorded) if recorded else None) or DEFAULT_KIND


class Index:
    def __init__(self, settings: Settings, embedder: Embedder, store: VectorStore | None = None):
        self.settings = settings
        self.embedder = embedder
        root = Path(settings.index_dir)
        self.manifest = Manifest.from_settings(settings)
        self.store = store or STORES.get(settings.store).from_settings(settings)
        self._writers = WriterLock.for_manifest(self.manifest, root)
        self.keyword_dir = root / "keyword"  # a cache of this process's host, never shared
        self._check_embedder()
        self._check_owner()

    def _check_embedder(self) -> None:
        recorded = self.manifest.get_meta("embedder")
        if recorded is not None and recorded != self.embedder.name:
            raise errors.EmbedderMismatch(
                f"the index at {self.settings.index_dir} was built with embedder {recorded!r} but this process "
                f"uses {self.embedder.name!r} (ASSISTANT_EMBEDDER={self.embedder.kind}); set ASSISTANT_EMBEDDER=auto "
                "to use the index's own, or ingest into a new ASSISTANT_INDEX_DIR"
            )

    def _check_owner(self) -> None:
        """Vectors are only ever read and swept against their own manifest: a collection that another manifest
        wrote (a replica with its own index folder pointed at a shared Chroma server) is refused, or this
        index's sweep would take the other's vectors for leftovers."""
        owner = self.store.owner()
        if owner is not None and owner != self.manifest.get_meta("index_id"):
            raise errors.StoreError(
                f"the Chroma collection {self.settings.collection!r} holds the vectors of another index (not the "
                f"manifest in {self._manifest_place()}); to share that index, set ASSISTANT_DATABASE_URL to its "
                "database on every replica, or give this one a collection of its own (ASSISTANT_COLLECTION)"
            )

    def _manifest_place(self) -> str:
        return database.redact(self.manifest.url) if self.manifest.shared else str(self.settings.index_dir)

    # --- writing -----------------------------------------------------------
    def writing(self, timeout: float = 600):
        """Hold the write lock of every process and replica (ingest and remove are serialised)."""
        return self._writers.held(timeout)

    def free_space_problem(self) -> str | None:
        """Why writing now would fill the disk under the index, or None (never raises)."""
        try:
            free = shutil.disk_usage(self.settings.index_dir).free
        except OSError:
            return None
        if free < self.settings.min_free_disk_bytes:
            # No path: /ready, which anyone may call, says this too.
            return (
                f"the disk under the index is full ({free / 2**20:.0f} MiB free, "
                f"min_free_disk_bytes is {self.settings.min_free_disk_bytes / 2**20:.0f} MiB)"
            )
        return None

    def room_problem(self, chunks: list[Chunk]) -> str | None:
        """Why writing these chunks would fill the disk under the index, or None. Checked before each write: a
        vector store that meets a full disk mid-write may stall rather than fail, so a write that cannot fit is
        not begun. The estimate is generous: the vector stored twice (the store's log and its graph) with room
        for the graph's links, and the text three times (the manifest, its journal and the keyword index)."""
        try:
            free = shutil.disk_usage(self.settings.index_dir).free
        except OSError:
            return None
        needed = sum(4 * self.embedder.dimension * 4 + 2048 + 3 * len(c.text.encode()) for c in chunks)
        if free - needed < self.settings.min_free_disk_bytes:
            return (f"the disk under the index ({self.settings.index_dir}) is full: {free / 2**20:.1f} MiB free, and "
                    f"this needs about {needed / 2**20:.1f} MiB (plus min_free_disk_bytes); it was not written and the "
                    "index answers as before")
        return None

    @contextmanager
    def disk_full_as_error(self):
        """Turn the store's and the manifest's out-of-space failures into DiskFull (a failed batch commits nothing)."""
        try:
            yield
        except Exception as exc:  # Chroma's Rust core raises its own types; the message tells
            if not _is_disk_full(exc):
                raise
            raise errors.DiskFull(f"the disk under the index ({self.settings.index_dir}) is full; this was not "
                                  "written and the index answers as before") from None

    def sweep_orphans(self) -> int:
        """Delete vectors the manifest does not list (left by an ingest that died)."""
        orphans = list(self.store.ids() - self.manifest.all_chunk_ids())
        if orphans:
            self.store.delete(orphans)
        return len(orphans)

    def is_unchanged(self, article: Article) -> bool:
        return self.manifest.content_hash(article.id) == article.content_hash

    def write(self, batch: list[tuple[Article, list[Chunk]]], on_embedded: Callable[[int], None] | None = None,
              meta: dict[str, str] | None = None) -> int:
        """Index a batch of articles atomically, with ``meta`` (what describes them, e.g. a link's validators)
        in the same commit; returns the number of chunks added. A batch that would not fit on the disk is
        DiskFull before anything is written."""
        if not batch:
            return 0
        if self.manifest.get_meta("embedder") is None:
            self.manifest.set_meta("embedder", self.embedder.name)
        if self.manifest.get_meta("index_id") is None:
            self.manifest.set_meta("index_id", uuid.uuid4().hex)
        if self.store.owner() is None:  # writers hold the write lock, so two never both claim
            self.store.claim(self.manifest.get_meta("index_id"))
        chunks = [c for _, cs in batch for c in cs]
        problem = self.room_problem(chunks)
        if problem:
            raise errors.DiskFull(problem)
        vectors = self.embedder.encode([c.text for c in chunks])
        if on_embedded:
            on_embedded(len(chunks))
        meta_by_article = {
            a.id: {"article_id": a.id, "source": a.source, "published": day_number(a.published)}
            for a, _ in batch
        }
        replaced = [cid for a, _ in batch for cid in self.manifest.chunk_ids(a.id)]
        self.store.add([c.id for c in chunks], vectors, [meta_by_article[c.article_id] for c in chunks])
        self.manifest.commit_articles(batch, meta=meta)
        stale = list(set(replaced) - {c.id for c in chunks})
        if stale:
            self.store.delete(stale)
        return len(chunks)

    def remove(self, article_id: str) -> None:
        ids = self.manifest.delete_article(article_id)
        self.store.delete(ids)

    # --- reading -----------------------------------------------------------
    def articles(self) -> list[ArticleInfo]:
        return self.manifest.articles()

    def is_empty(self) -> bool:
        return self.manifest.article_count() == 0

    def dense_search(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[VectorHit]:
        """Nearest live chunks. Over-fetches so orphaned vectors cannot crowd out live ones."""
        hits = self.store.query(vector, k * 2 + 8, where)
        live = self.manifest.chunks([h.id for h in hits])
        return [h for h in hits if h.id in live][:k]


def _is_disk_full(exc: BaseException) -> bool:
    """ENOSPC from the OS, SQLite's "database or disk is full", or either wrapped by Chroma's Rust core."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return "disk is full" in text or "no space left" in text or "database or disk is full" in text
