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

Collections. The manifest says which collections each article is in (an article is in one or more). The
vector store holds every chunk's vector once in the index's own collection, and, once the index has two
collections or more, a copy in the partition of each collection the article is in (``c<id>``: by the
collection's id, so a rename moves nothing). A question scoped to some collections searches their partitions
only, which at 100k chunks in 10 collections is as fast as an unscoped search, where a metadata filter over
every vector was 5 to 10 times slower (bench/query.py). The partitions only make that search fast: what
is in scope is what the manifest says, and every hit is checked against it, so a partition that a crash
left behind a membership change cannot widen a scope. Writes keep the order above: partition copies are
written before the manifest commit that makes them count, and deleted after the commit that ends them.
"""

from __future__ import annotations

import errno
import logging
import shutil
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import database, errors
from ..embeddings import DEFAULT_KIND, Embedder, kind_for_name
from ..models import DEFAULT_COLLECTION, Article, ArticleInfo, Chunk, Filters, day_number
from ..registry import STORES
from ..settings import Settings
from .manifest import Manifest
from .vectors import ChromaVectorStore, VectorHit, VectorStore
from .writer_lock import WriterLock

__all__ = ["Index", "Manifest", "VectorStore", "ChromaVectorStore", "VectorHit", "CollectionScope"]

log = logging.getLogger("assistant.index")

# meta: "on" once every collection's vectors are copied into its partition (see the module's docstring)
PARTITIONS = "vector_partitions"
# Without partitions a scoped search takes this many times as many nearest vectors, and keeps the scope's.
UNPARTITIONED_OVERFETCH = 8


@dataclass(frozen=True)
class CollectionScope:
    """Some collections, resolved: their ids and the articles in them (what a scoped search may return)."""

    names: tuple[str, ...]
    ids: tuple[int, ...]
    articles: frozenset[str]
    everything: bool  # the scope names every collection there is


def chroma_where(filters: Filters) -> dict | None:
    """The filters as a Chroma ``where`` clause over the chunk metadata written by :meth:`Index.write` (collections
    are not in it: they are the partitions searched, and the manifest's check)."""
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
        self._scopes: dict[tuple[str, ...], tuple[str, CollectionScope]] = {}  # names -> (scopes version, scope)
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
        if owner is None and self.manifest.article_count() and self.store.count() == 0:
            # a new, empty collection where the manifest's vectors were: the store's folder was deleted or swapped
            # (an unclaimed store that holds vectors is an older index's, or a plugin's that keeps no owner)
            where = getattr(self.store, "where", self.settings.collection)
            raise errors.StoreError(
                f"the vector store at {where} holds none of the vectors of the {self.manifest.article_count()} "
                f"articles the manifest in {self._manifest_place()} lists (was it deleted or replaced?): restore it "
                "from a backup, or ingest the articles again into a new ASSISTANT_INDEX_DIR"
            )
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
        """Delete vectors the manifest does not list (left by an ingest that died), and partition copies of chunks
        whose article is not in that collection (any more); copy in the chunks of its articles that a partition
        lacks (an article rewritten by a version from before collections, which knows no partitions)."""
        live = self.manifest.all_chunk_ids()
        orphans = list(self.store.ids() - live)
        if orphans:
            self.store.delete(orphans)
        swept = len(orphans)
        if self.partitioned():
            for collection_id in self.manifest.collection_ids().values():
                part, members = self._partition(collection_id), self.manifest.member_chunk_ids(collection_id)
                held = part.ids()
                stray = list(held - members)
                if stray:
                    part.delete(stray)
                self._copy_into_partition(collection_id, sorted(members - held))
                swept += len(stray)
        return swept

    def _copy_into_partition(self, collection_id: int, chunk_ids: list[str]) -> None:
        """Copy indexed chunks' vectors (with their metadata) from the store into a collection's partition."""
        stored = self.store.vectors(chunk_ids) if chunk_ids else {}
        if not stored:
            return
        chunks = self.manifest.chunks(list(stored))
        ids = [c for c in stored if c in chunks]
        wanted = {chunks[c].article_id for c in ids}  # once: built per article it made joining 5,000 quadratic
        infos = {a.id: a for a in self.manifest.articles() if a.id in wanted}
        metas = [_vector_meta(a.id, a.source, a.published) for a in (infos[chunks[c].article_id] for c in ids)]
        self._partition(collection_id).add(ids, np.stack([stored[c] for c in ids]), metas)

    def is_unchanged(self, article: Article, *, text_only: bool = False) -> bool:
        """Its text, title, link and date as indexed (``text_only``: its text): a new title or date alone is a
        change too (filters and citations read them, and the vectors carry the date)."""
        described = self.manifest.described(article.id)
        if text_only or described is None:
            return described is not None and described[0] == article.content_hash
        return described == (article.content_hash, article.title, article.url, article.published)

    def write(self, batch: list[tuple[Article, list[Chunk]]], on_embedded: Callable[[int], None] | None = None,
              meta: dict[str, str] | None = None, collection_id: int | None = None) -> int:
        """Index a batch of articles atomically into the collection ``collection_id`` (default: ``default``;
        an article keeps the collections it is in already), with ``meta`` (what describes them, e.g. a link's
        validators) in the same commit; returns the number of chunks added. A batch that would not fit on the
        disk is DiskFull before anything is written."""
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
        meta_by_article = {a.id: _vector_meta(a.id, a.source, a.published) for a, _ in batch}
        replaced = [cid for a, _ in batch for cid in self.manifest.chunk_ids(a.id)]
        ids, metas = [c.id for c in chunks], [meta_by_article[c.article_id] for c in chunks]
        self.store.add(ids, vectors, metas)
        member_of = self.manifest.article_collections([a.id for a, _ in batch])
        if self.partitioned():
            default = self.manifest.collection_id(DEFAULT_COLLECTION)
            after = {a.id: {*member_of.get(a.id, ()), collection_id} if collection_id is not None
                     else set(member_of.get(a.id) or [default]) for a, _ in batch}
            for collection in sorted({c for cs in after.values() for c in cs}):
                rows = [i for i, c in enumerate(chunks) if collection in after[c.article_id]]
                self._partition(collection).add([ids[i] for i in rows], vectors[rows], [metas[i] for i in rows])
        self._writers.confirm()
        self.manifest.commit_articles(batch, meta=meta, collection_id=collection_id)
        stale = list(set(replaced) - set(ids))
        if stale:
            self._delete_committed(stale, {c for cs in member_of.values() for c in cs})
        return len(chunks)

    def remove(self, article_id: str) -> None:
        member_of = self.manifest.article_collections([article_id]).get(article_id, [])
        self._writers.confirm()
        ids = self.manifest.delete_article(article_id)
        self._delete_committed(ids, member_of)

    def _delete_committed(self, ids: list[str], collections: Iterable[int]) -> None:
        """Delete the vectors of chunks the manifest no longer lists (its commit is made). If the store fails now,
        the change stands: unlisted vectors are never returned, and the next ingest's sweep deletes them."""
        try:
            self.store.delete(ids)
            if self.partitioned():
                for collection in collections:
                    self._partition(collection).delete(ids)
        except errors.StoreError as exc:
            log.warning("%d vectors of a committed change were left for the next sweep: %s", len(ids), exc)

    # --- collections (the caller holds the write lock) ---------------------------------------------------
    def partitioned(self) -> bool:
        """Whether every collection's vectors are in its partition (once true, it stays true)."""
        if not getattr(self, "_partitioned", False):
            self._partitioned = self.manifest.get_meta(PARTITIONS) == "on"
        return self._partitioned

    def _partition(self, collection_id: int) -> VectorStore | None:
        return self.store.partition(f"c{collection_id}")

    def create_collection(self, name: str) -> int:
        """A new, empty collection; the index's second one first copies the vectors into partitions."""
        collection_id = self.manifest.create_collection(name)
        self.ensure_partitions()
        return collection_id

    def ensure_partitions(self) -> None:
        """With two collections or more, copy every collection's vectors into its partition (once; an interrupted
        copy is finished by the next writer). Until done, scoped searches filter the unpartitioned vectors."""
        if self.partitioned() or len(self.manifest.collection_ids()) < 2:
            return
        if not self.store.has_partitions:  # a store without partitions: the scoped searches filter
            return
        infos = {a.id: a for a in self.manifest.articles()}
        member_of = self.manifest.article_collections(infos)
        live = sorted(self.manifest.all_chunk_ids())
        log.info("copying %d vectors into the collections' partitions", len(live))
        step = 2000
        for i in range(0, len(live), step):
            stored = self.store.vectors(live[i : i + step])
            chunks = self.manifest.chunks(list(stored))
            by_collection: dict[int, list[str]] = {}
            for chunk_id, chunk in chunks.items():
                for collection in member_of.get(chunk.article_id, ()):
                    by_collection.setdefault(collection, []).append(chunk_id)
            for collection, chunk_ids in by_collection.items():
                metas = [_vector_meta(a.id, a.source, a.published)
                         for a in (infos[chunks[c].article_id] for c in chunk_ids)]
                self._partition(collection).add(chunk_ids, np.stack([stored[c] for c in chunk_ids]), metas)
        self.manifest.set_meta(PARTITIONS, "on")
        self._partitioned = True

    def join(self, article_ids: Iterable[str], collection_id: int) -> list[str]:
        """Put indexed articles in a collection too (their vectors copied into its partition first)."""
        member_of = self.manifest.article_collections(list(article_ids))
        article_ids = [a for a in dict.fromkeys(article_ids) if collection_id not in member_of.get(a, ())]
        if self.partitioned() and article_ids:
            self._copy_into_partition(collection_id, [c for a in article_ids for c in self.manifest.chunk_ids(a)])
        return self.manifest.join(article_ids, collection_id)

    def leave(self, article_id: str, collection_id: int) -> bool:
        """Take an article out of one collection (False, nothing done, when it is in no other: remove it)."""
        if not self.manifest.leave(article_id, collection_id):
            return False
        if self.partitioned():
            self._partition(collection_id).delete(self.manifest.chunk_ids(article_id))
        return True

    def delete_collection(self, collection_id: int) -> tuple[list[str], list[str]]:
        """Remove a collection and the articles in no other one: (those removed, those kept by another)."""
        removed, chunk_ids, kept = self.manifest.delete_collection(collection_id)
        if chunk_ids:
            self.store.delete(chunk_ids)
        self.store.drop_partition(f"c{collection_id}")
        return removed, kept

    def scope(self, names: Iterable[str], field: str = "collection") -> CollectionScope | None:
        """The collections called ``names`` (CollectionNotFound naming ``field`` for one that is not there); None
        for no names."""
        names = tuple(dict.fromkeys(names))
        if not names:
            return None
        version = self.manifest.scopes_version()  # one read; the scope is computed again only when it moved
        cached = self._scopes.get(names)
        if cached is not None and cached[0] == version:
            return cached[1]
        known = self.manifest.collection_ids()
        for name in names:
            if name not in known:
                raise errors.CollectionNotFound(name, field)
        ids = tuple(known[n] for n in names)
        scope = CollectionScope(names, ids, frozenset(self.manifest.member_articles(ids)), len(set(ids)) == len(known))
        if len(self._scopes) >= 64:
            self._scopes.pop(next(iter(self._scopes)))
        self._scopes[names] = (version, scope)
        return scope

    # --- reading -----------------------------------------------------------
    def articles(self, scope: CollectionScope | None = None) -> list[ArticleInfo]:
        return self.manifest.articles(scope.ids if scope else None)

    def is_empty(self) -> bool:
        return self.manifest.article_count() == 0

    def dense_search(self, vector: np.ndarray, k: int, where: dict | None = None,
                     scope: CollectionScope | None = None) -> list[VectorHit]:
        """Nearest live chunks (of the articles in ``scope``). Over-fetches so orphaned vectors cannot crowd out
        live ones."""
        wanted = k * 2 + 8
        if scope is None or scope.everything:
            hits = self.store.query(vector, wanted, where)
        elif self.partitioned():
            best: dict[str, VectorHit] = {}
            for collection_id in scope.ids:  # an article in two of them is in both partitions: counted once
                for hit in self._partition(collection_id).query(vector, wanted, where):
                    if hit.id not in best or best[hit.id].similarity < hit.similarity:
                        best[hit.id] = hit
            hits = sorted(best.values(), key=lambda h: h.similarity, reverse=True)[:wanted]
        else:
            hits = self.store.query(vector, wanted * UNPARTITIONED_OVERFETCH, where)
        live = self.manifest.chunks([h.id for h in hits])
        if scope is not None:
            live = {i: c for i, c in live.items() if c.article_id in scope.articles}
        return [h for h in hits if h.id in live][:k]


def _vector_meta(article_id: str, source: str, published: str | None) -> dict:
    """What each chunk's vector carries, for the store's filters (chroma_where)."""
    return {"article_id": article_id, "source": source, "published": day_number(published)}


def _is_disk_full(exc: BaseException) -> bool:
    """ENOSPC from the OS, SQLite's "database or disk is full", or either wrapped by Chroma's Rust core."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return "disk is full" in text or "no space left" in text or "database or disk is full" in text
