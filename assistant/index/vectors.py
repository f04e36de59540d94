"""Vector stores: a small base class and the Chroma implementation.

Like httpx's transports, the rest of the code talks to :class:`VectorStore`
only; which Chroma client sits behind it (embedded on disk, or a `chroma run`
server) is a setting.
"""

from __future__ import annotations

import abc
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from .. import errors
from ..folders import make_private
from ..settings import Settings


@dataclass(frozen=True, slots=True)
class VectorHit:
    id: str
    similarity: float  # cosine similarity, higher is closer


class VectorStore(abc.ABC):
    """What the index needs of a vector store. A new store is a subclass plus an entry point in
    ``article_assistant.stores`` (see assistant/registry.py), chosen by the ``store`` setting."""

    @classmethod
    @abc.abstractmethod
    def from_settings(cls, settings: Settings) -> VectorStore: ...

    @classmethod
    def shared_between_processes(cls, settings: Settings) -> bool:
        """Whether several app processes may write to it at once (then no process claims the index folder)."""
        return False

    @abc.abstractmethod
    def add(self, ids: list[str], vectors: np.ndarray, metadatas: list[dict]) -> None: ...

    @abc.abstractmethod
    def delete(self, ids: list[str]) -> None: ...

    @abc.abstractmethod
    def query(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[VectorHit]: ...

    @abc.abstractmethod
    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]: ...

    @abc.abstractmethod
    def ids(self) -> set[str]: ...

    @abc.abstractmethod
    def count(self) -> int: ...

    # Which index's manifest the vectors belong to (a store that cannot say answers None and claims nothing).
    def owner(self) -> str | None:
        return None

    def claim(self, index_id: str) -> None:
        return None

    # Collections (assistant/index/__init__.py): a store may keep each collection's vectors apart as well, so that
    # a question scoped to one searches only its vectors. One that cannot leaves has_partitions False, and a scoped
    # question searches every vector and keeps the scope's (correct, but it may find fewer passages in a small scope).
    has_partitions = False

    def partition(self, name: str) -> VectorStore | None:
        """A store of its own for one collection's copies of the vectors (made on first use), or None."""
        return None

    def drop_partition(self, name: str) -> None:
        """Delete a partition and its vectors (a removed collection's)."""
        return None


class ChromaVectorStore(VectorStore):
    """Chroma collection with cosine space; we pass our own vectors (no embedding function)."""

    # Chroma caps how many records one call may carry.
    _BATCH = 4000
    has_partitions = True

    @classmethod
    def from_settings(cls, settings: Settings) -> ChromaVectorStore:
        """Embedded on disk under the index folder, or a `chroma run` server when ``chroma_url`` is set."""
        path = None if settings.chroma_url else Path(settings.index_dir) / "chroma"
        return cls(path=path, url=settings.chroma_url, collection=settings.collection)

    @classmethod
    def shared_between_processes(cls, settings: Settings) -> bool:
        return bool(settings.chroma_url)

    def __init__(self, *, path: Path | None = None, url: str | None = None, collection: str = "articles",
                 client=None):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        self.where = url or str(path)
        self.path = None if url or client is not None else path  # an embedded store's own folder
        self.name = collection
        self._partitions: dict[str, ChromaVectorStore] = {}
        try:
            if client is not None:
                self.client = client
            elif url:
                parsed = urlparse(url)
                self.client = chromadb.HttpClient(
                    host=parsed.hostname or "127.0.0.1",
                    port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                    ssl=parsed.scheme == "https",
                    settings=chroma_settings,
                )
            else:
                assert path is not None
                make_private(path)
                self.client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
            self.collection = self.client.get_or_create_collection(
                collection,
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
            )
        except Exception as exc:  # chromadb raises a zoo of types for "can't open"
            raise errors.StoreError(f"cannot open the Chroma store at {self.where}: {exc}") from None

    @contextmanager
    def _reached(self) -> Iterator[None]:
        """A Chroma server that is down, or an on-disk store that cannot be written (a full disk), is a
        StoreError (503) naming the store, never a bare transport error and a 500."""
        import httpx
        from chromadb.errors import ChromaError, InvalidArgumentError, NotFoundError

        try:
            yield
        except (InvalidArgumentError, NotFoundError):
            raise  # the caller's mistake, not the store's
        except (httpx.TransportError, OSError, ChromaError) as exc:
            raise errors.StoreError(f"the Chroma store at {self.where} cannot be used: {exc}") from exc

    def add(self, ids: list[str], vectors: np.ndarray, metadatas: list[dict]) -> None:
        with self._reached():
            self._add(ids, vectors, metadatas)

    def _add(self, ids: list[str], vectors: np.ndarray, metadatas: list[dict]) -> None:
        for i in range(0, len(ids), self._BATCH):
            self.collection.upsert(
                ids=ids[i : i + self._BATCH],
                embeddings=vectors[i : i + self._BATCH],
                metadatas=metadatas[i : i + self._BATCH],
            )

    def delete(self, ids: list[str]) -> None:
        with self._reached():
            for i in range(0, len(ids), self._BATCH):
                self.collection.delete(ids=ids[i : i + self._BATCH])

    def query(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[VectorHit]:
        if k <= 0:
            return []
        with self._reached():
            result = self.collection.query(
                query_embeddings=[vector], n_results=k, where=where or None, include=["distances"]
            )
        ids, distances = result["ids"][0], result["distances"][0]
        return [VectorHit(i, 1.0 - float(d)) for i, d in zip(ids, distances)]

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self._reached():
            for i in range(0, len(ids), self._BATCH):
                got = self.collection.get(ids=ids[i : i + self._BATCH], include=["embeddings"])
                out.update((k, np.asarray(v, dtype=np.float32)) for k, v in zip(got["ids"], got["embeddings"]))
        return out

    def ids(self) -> set[str]:
        out: set[str] = set()
        offset = 0
        with self._reached():
            while True:
                page = self.collection.get(include=[], limit=self._BATCH, offset=offset)["ids"]
                out.update(page)
                if len(page) < self._BATCH:
                    return out
                offset += self._BATCH

    def count(self) -> int:
        with self._reached():
            return self.collection.count()

    def partition(self, name: str) -> ChromaVectorStore:
        """The Chroma collection ``<collection>-<name>`` beside this one, on the same client."""
        if name not in self._partitions:
            part = ChromaVectorStore(collection=f"{self.name}-{name}", client=self.client)
            part.where = self.where
            self._partitions[name] = part
        return self._partitions[name]

    def drop_partition(self, name: str) -> None:
        self._partitions.pop(name, None)
        dropped = f"{self.name}-{name}"
        folders = self._segment_folders(dropped)  # read first: the rows naming them go with the collection
        try:
            self.client.delete_collection(dropped)
        except Exception:  # chromadb raises NotFoundError or ValueError for a collection that is not there
            return
        # Chroma 1.x deletes a collection's rows and leaves its HNSW files (chroma-core/chroma#5259): removed here,
        # so a removed collection frees its disk (its open files are let go when the process ends).
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)

    def _segment_folders(self, collection: str) -> list[Path]:
        """The folders of an embedded store's collection's segments (none for a Chroma server's)."""
        if self.path is None:
            return []
        database = (self.path / "chroma.sqlite3").resolve()
        try:
            with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
                rows = db.execute("SELECT s.id FROM segments s JOIN collections c ON s.collection = c.id "
                                  "WHERE c.name = ?", (collection,)).fetchall()
        except sqlite3.Error:  # a Chroma whose tables differ: its files are left to it
            return []
        return [self.path / str(segment) for (segment,) in rows if (self.path / str(segment)).is_dir()]

    OWNER_KEY = "article_assistant_index"  # in the collection's metadata (its HNSW configuration is apart)

    def owner(self) -> str | None:
        return (self.collection.metadata or {}).get(self.OWNER_KEY)

    def claim(self, index_id: str) -> None:
        with self._reached():
            self.collection.modify(metadata={**(self.collection.metadata or {}), self.OWNER_KEY: index_id})
