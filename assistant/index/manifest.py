"""The manifest: the SQL tables that say what the index holds (SQLAlchemy Core).

It is the source of truth. A chunk is live only if the manifest lists it, so
vectors written by an ingest that died before its manifest commit are never
returned (and are swept by the next ingest). One transaction per batch is what
makes an ingest leave the index as it was when it fails.

By default the tables are in ``manifest.sqlite3`` in the index folder; with
``database_url`` they are in that database (PostgreSQL), shared by every
replica. The schema is kept by the ``manifest`` branch of assistant/migrations/.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from .. import database, errors
from ..models import Article, ArticleInfo, Chunk
from ..settings import Settings

MANIFEST_FILE = "manifest.sqlite3"

# What the migrations made (assistant/migrations/versions/manifest_*), described for queries only.
tables = MetaData()
meta = Table("meta", tables, Column("key", Text, primary_key=True), Column("value", Text, nullable=False))
articles = Table(
    "articles", tables,
    Column("id", Text, primary_key=True), Column("title", Text), Column("source", Text), Column("url", Text),
    Column("published", Text), Column("content_hash", Text), Column("text", Text), Column("ingested_at", Text),
)
chunks = Table(
    "chunks", tables,
    Column("id", Text, primary_key=True), Column("article_id", Text), Column("start", Integer),
    Column("end", Integer), Column("text", Text),
)
commits = Table(
    "commits", tables,
    Column("generation", Integer, primary_key=True, autoincrement=False), Column("committed_at", Text),
    Column("host", Text), Column("pid", Integer), Column("change", Text), Column("article_ids", JSON),
)

_CHUNK = (chunks.c.id, chunks.c.article_id, chunks.c.text, chunks.c.start, chunks.c.end)
_IN_BATCH = 500  # ids per IN (...): SQLite caps bound parameters


def manifest_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return database.sqlite_url(Path(settings.index_dir) / MANIFEST_FILE)


class Manifest:
    def __init__(self, url: str):
        self.url = url
        self.engine = database.upgrade(url, "manifest")
        self.shared = self.engine.dialect.name != "sqlite"  # a database server: replicas on several hosts

    @classmethod
    def from_settings(cls, settings: Settings) -> Manifest:
        return cls(manifest_url(settings))

    @classmethod
    def exists(cls, settings: Settings) -> bool:
        """Whether an index was made for these settings (without making one)."""
        return bool(settings.database_url) or (Path(settings.index_dir) / MANIFEST_FILE).exists()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._unreachable_as_error(), self.engine.connect() as db:
            yield db

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._unreachable_as_error(), self.engine.begin() as db:
            yield db

    @contextmanager
    def _unreachable_as_error(self) -> Iterator[None]:
        """A database that is down, locked or full is a StoreError naming it (503 on the web), not a trace."""
        try:
            yield
        except SQLAlchemyError as exc:
            raise errors.StoreError(f"the index manifest {database.redact(self.url)} cannot be used: "
                                    f"{database.reason(exc)}") from None

    # --- meta --------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._read() as db:
            return db.scalar(select(meta.c.value).where(meta.c.key == key))

    def set_meta(self, key: str, value: str) -> None:
        self.set_meta_many({key: value})

    def set_meta_many(self, values: dict[str, str]) -> None:
        with self._write() as db:
            _put_meta(db, values)

    @property
    def generation(self) -> int:
        """Bumped on every change, so in-memory caches (BM25) know when to rebuild, in every replica."""
        return int(self.get_meta("generation") or 0)

    # --- articles ----------------------------------------------------------
    def content_hash(self, article_id: str) -> str | None:
        with self._read() as db:
            return db.scalar(select(articles.c.content_hash).where(articles.c.id == article_id))

    def chunk_ids(self, article_id: str) -> list[str]:
        with self._read() as db:
            return list(db.scalars(select(chunks.c.id).where(chunks.c.article_id == article_id)))

    def commit_articles(self, batch: Iterable[tuple[Article, list[Chunk]]], meta: dict[str, str] | None = None) -> None:
        """Replace each article and its chunks, and set ``meta`` (what describes them), all in one transaction."""
        batch = list(batch)
        now = _now("seconds")
        with self._write() as db:
            for article, article_chunks in batch:
                db.execute(delete(chunks).where(chunks.c.article_id == article.id))
                db.execute(delete(articles).where(articles.c.id == article.id))
                db.execute(insert(articles).values(
                    id=article.id, title=article.title, source=article.source, url=article.url,
                    published=article.published, content_hash=article.content_hash, text=article.text,
                    ingested_at=now,
                ))
                if article_chunks:
                    db.execute(insert(chunks), [
                        {"id": c.id, "article_id": c.article_id, "start": c.start, "end": c.end, "text": c.text}
                        for c in article_chunks
                    ])
            _put_meta(db, meta or {})
            self._bump(db, "write", [a.id for a, _ in batch])

    def delete_article(self, article_id: str) -> list[str]:
        """Remove an article; returns the chunk ids whose vectors should go too."""
        with self._write() as db:
            ids = list(db.scalars(select(chunks.c.id).where(chunks.c.article_id == article_id)))
            db.execute(delete(chunks).where(chunks.c.article_id == article_id))
            if db.execute(delete(articles).where(articles.c.id == article_id)).rowcount == 0:
                raise errors.ArticleNotFound(article_id)
            self._bump(db, "remove", [article_id])
        return ids

    def _bump(self, db: Connection, change: str, article_ids: list[str]) -> None:
        """Next generation, and its commit record, in the writer's transaction (writers hold the write lock)."""
        current = db.scalar(select(meta.c.value).where(meta.c.key == "generation"))
        generation = int(current or 0) + 1
        if current is None:
            db.execute(insert(meta).values(key="generation", value=str(generation)))
        else:
            db.execute(update(meta).where(meta.c.key == "generation").values(value=str(generation)))
        db.execute(insert(commits).values(
            generation=generation, committed_at=_now(), host=socket.gethostname(), pid=os.getpid(),
            change=change, article_ids=article_ids,
        ))

    def last_commit(self) -> dict | None:
        """The newest commit record: generation, committed_at, host, pid, change, article_ids."""
        with self._read() as db:
            row = db.execute(select(commits).order_by(commits.c.generation.desc()).limit(1)).mappings().first()
        return dict(row) if row else None

    def article(self, article_id: str) -> Article:
        with self._read() as db:
            row = db.execute(select(
                articles.c.id, articles.c.title, articles.c.text, articles.c.source, articles.c.url,
                articles.c.published, articles.c.content_hash,
            ).where(articles.c.id == article_id)).first()
        if row is None:
            raise errors.ArticleNotFound(article_id)
        return Article(*row)

    def articles(self) -> list[ArticleInfo]:
        query = (
            select(
                articles.c.id, articles.c.title, articles.c.source, articles.c.url, articles.c.published,
                func.count(chunks.c.id), func.length(articles.c.text), articles.c.ingested_at,
            )
            .select_from(articles.outerjoin(chunks, chunks.c.article_id == articles.c.id))
            .group_by(articles.c.id)
            .order_by(articles.c.title, articles.c.id)
        )
        with self._read() as db:
            return [ArticleInfo(*row) for row in db.execute(query)]

    def titles(self) -> list[tuple[str, str]]:
        """(id, title) of every article: what a request may name an article by."""
        with self._read() as db:
            return [tuple(r) for r in db.execute(select(articles.c.id, articles.c.title))]

    def article_urls(self) -> list[tuple[str, str]]:
        """(id, url) of every article that has a link."""
        with self._read() as db:
            return [tuple(r) for r in db.execute(
                select(articles.c.id, articles.c.url).where(articles.c.url.is_not(None), articles.c.url != "")
            )]

    def article_count(self) -> int:
        with self._read() as db:
            return db.scalar(select(func.count()).select_from(articles))

    # --- chunks ------------------------------------------------------------
    def chunks(self, ids: list[str]) -> dict[str, Chunk]:
        out: dict[str, Chunk] = {}
        query = select(*_CHUNK).where(chunks.c.id.in_(bindparam("ids", expanding=True)))
        with self._read() as db:
            for i in range(0, len(ids), _IN_BATCH):
                for row in db.execute(query, {"ids": ids[i : i + _IN_BATCH]}):
                    out[row[0]] = Chunk(*row)
        return out

    def all_chunks(self) -> list[Chunk]:
        """Every live chunk, article by article in text order (the keyword index's rows)."""
        with self._read() as db:
            return [Chunk(*row) for row in db.execute(select(*_CHUNK).order_by(chunks.c.article_id, chunks.c.start))]

    def all_chunk_ids(self) -> set[str]:
        with self._read() as db:
            return set(db.scalars(select(chunks.c.id)))


def _now(timespec: str = "milliseconds") -> str:
    return datetime.now(UTC).isoformat(timespec=timespec)


def _put_meta(db, values: dict[str, str]) -> None:
    if values:
        db.execute(delete(meta).where(meta.c.key.in_(list(values))))
        db.execute(insert(meta), [{"key": k, "value": v} for k, v in values.items()])
