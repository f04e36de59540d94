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
    cast,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from .. import database, errors
from ..models import DEFAULT_COLLECTION, Article, ArticleInfo, Chunk, CollectionInfo
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
collections = Table(
    "collections", tables,
    Column("id", Integer, primary_key=True), Column("name", Text), Column("created_at", Text),
)
memberships = Table(
    "memberships", tables,
    Column("article_id", Text, primary_key=True), Column("collection_id", Integer, primary_key=True),
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

    def described(self, article_id: str) -> tuple[str, str, str | None, str | None] | None:
        """(content hash, title, url, published) of an indexed article, or None: what a re-ingest compares."""
        with self._read() as db:
            row = db.execute(select(articles.c.content_hash, articles.c.title, articles.c.url, articles.c.published)
                             .where(articles.c.id == article_id)).first()
        return None if row is None else tuple(row)

    def chunk_ids(self, article_id: str) -> list[str]:
        with self._read() as db:
            return list(db.scalars(select(chunks.c.id).where(chunks.c.article_id == article_id)))

    def commit_articles(self, batch: Iterable[tuple[Article, list[Chunk]]], meta: dict[str, str] | None = None,
                        collection_id: int | None = None) -> None:
        """Replace each article and its chunks, put it in the collection ``collection_id`` besides those it is in
        already (None: a new article goes in ``default``, a known one stays where it is), and set ``meta`` (what
        describes them), all in one transaction."""
        batch = list(batch)
        now = _now("seconds")
        with self._write() as db:
            for article, article_chunks in batch:
                if collection_id is not None:
                    _join(db, [article.id], collection_id)
                elif db.scalar(select(func.count()).select_from(memberships)
                               .where(memberships.c.article_id == article.id)) == 0:
                    _join(db, [article.id], _collection_id(db, DEFAULT_COLLECTION))
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
            db.execute(delete(memberships).where(memberships.c.article_id == article_id))
            _scopes_changed(db)
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

    def articles(self, collection_ids: Iterable[int] | None = None) -> list[ArticleInfo]:
        """Every article (``collection_ids``: of those collections only), with the collections it is in."""
        query = (
            select(
                articles.c.id, articles.c.title, articles.c.source, articles.c.url, articles.c.published,
                func.count(chunks.c.id), func.length(articles.c.text), articles.c.ingested_at,
            )
            .select_from(articles.outerjoin(chunks, chunks.c.article_id == articles.c.id))
            .group_by(articles.c.id)
            .order_by(articles.c.title, articles.c.id)
        )
        if collection_ids is not None:
            query = query.where(articles.c.id.in_(
                select(memberships.c.article_id).where(memberships.c.collection_id.in_(list(collection_ids)))
            ))
        with self._read() as db:
            rows = list(db.execute(query))
            names = dict(db.execute(select(collections.c.id, collections.c.name)).all())
            member_of: dict[str, list[str]] = {}
            for article_id, collection_id in db.execute(select(memberships.c.article_id, memberships.c.collection_id)):
                member_of.setdefault(article_id, []).append(names.get(collection_id, str(collection_id)))
        return [ArticleInfo(*row, collections=tuple(sorted(member_of.get(row[0], ())))) for row in rows]

    # --- collections -------------------------------------------------------
    def collections(self) -> list[CollectionInfo]:
        """Every collection with how many articles and chunks it holds, by name."""
        counted = (
            select(
                collections.c.name, func.count(func.distinct(memberships.c.article_id)), func.count(chunks.c.id),
                collections.c.created_at,
            )
            .select_from(
                collections.outerjoin(memberships, memberships.c.collection_id == collections.c.id)
                .outerjoin(chunks, chunks.c.article_id == memberships.c.article_id)
            )
            .group_by(collections.c.id, collections.c.name, collections.c.created_at)
            .order_by(collections.c.name)
        )
        with self._read() as db:
            return [CollectionInfo(*row) for row in db.execute(counted)]

    def collection_ids(self) -> dict[str, int]:
        """name -> id of every collection (the id is stable: it names the collection's vectors)."""
        with self._read() as db:
            return dict(db.execute(select(collections.c.name, collections.c.id)).all())

    def collection_id(self, name: str) -> int:
        with self._read() as db:
            return _collection_id(db, name)

    def create_collection(self, name: str) -> int:
        with self._write() as db:
            taken = _named_alike(db, name)
            if taken is not None:
                raise errors.CollectionConflict(f"collection: {name!r} exists already" if taken == name else
                                                f"collection: {taken!r} exists; names must differ by more than case")
            _scopes_changed(db)
            return db.execute(insert(collections).values(name=name, created_at=_now("seconds"))).inserted_primary_key[0]

    def rename_collection(self, name: str, new_name: str, *, field: str = "new_name") -> None:
        with self._write() as db:
            collection_id = _collection_id(db, name)
            taken = _named_alike(db, new_name, but=collection_id)
            if taken is not None:
                raise errors.CollectionConflict(
                    f"{field}: a collection named {new_name!r} exists already" if taken == new_name else
                    f"{field}: {taken!r} exists; names must differ by more than case")
            db.execute(update(collections).where(collections.c.id == collection_id).values(name=new_name))
            _scopes_changed(db)

    def scopes_version(self) -> str:
        """What changes whenever a collection's articles or name do (a cached scope is current while it holds)."""
        return self.get_meta(SCOPES) or "0"

    def member_articles(self, collection_ids: Iterable[int]) -> set[str]:
        """The ids of the articles in any of these collections."""
        with self._read() as db:
            return set(db.scalars(
                select(memberships.c.article_id).where(memberships.c.collection_id.in_(list(collection_ids)))
            ))

    def member_chunk_ids(self, collection_id: int) -> set[str]:
        """The ids of the live chunks of the articles in a collection."""
        with self._read() as db:
            return set(db.scalars(select(chunks.c.id).join(memberships, memberships.c.article_id == chunks.c.article_id)
                                  .where(memberships.c.collection_id == collection_id)))

    def article_collections(self, article_ids: Iterable[str]) -> dict[str, list[int]]:
        """article id -> the ids of the collections it is in (articles in none are absent)."""
        ids = list(article_ids)
        out: dict[str, list[int]] = {}
        query = select(memberships.c.article_id, memberships.c.collection_id).where(
            memberships.c.article_id.in_(bindparam("ids", expanding=True)))
        with self._read() as db:
            for i in range(0, len(ids), _IN_BATCH):
                for article_id, collection_id in db.execute(query, {"ids": ids[i : i + _IN_BATCH]}):
                    out.setdefault(article_id, []).append(collection_id)
        return out

    def unfiled(self) -> list[str]:
        """Articles in no collection: written by a replica of a version from before collections, during a rolling
        upgrade (the next writer puts them in ``default``)."""
        with self._read() as db:
            # NOT EXISTS, not NOT IN: PostgreSQL plans NOT IN over a subquery larger than work_mem as a scan per
            # row (200,000 articles: minutes, under the write lock; this way 0.4 s)
            return list(db.scalars(select(articles.c.id).where(
                ~exists().where(memberships.c.article_id == articles.c.id))))

    def forget_gone_members(self) -> int:
        """Drop the memberships of articles no longer indexed: an older version's ``remove`` (one from before
        collections) leaves them, and an article of that id ingested again would land in their collections."""
        with self._write() as db:
            gone = ~exists().where(articles.c.id == memberships.c.article_id)  # NOT EXISTS: see unfiled()
            return db.execute(delete(memberships).where(gone)).rowcount

    def join(self, article_ids: Iterable[str], collection_id: int) -> list[str]:
        """Put indexed articles in a collection too; the ids of those that were not in it yet."""
        with self._write() as db:
            return _join(db, list(article_ids), collection_id)

    def leave(self, article_id: str, collection_id: int) -> bool:
        """Take an article out of one collection; False when it was in no other (then nothing changed: remove it)."""
        with self._write() as db:
            others = db.scalar(select(func.count()).select_from(memberships).where(
                memberships.c.article_id == article_id, memberships.c.collection_id != collection_id))
            if not others:
                return False
            db.execute(delete(memberships).where(memberships.c.article_id == article_id,
                                                 memberships.c.collection_id == collection_id))
            _scopes_changed(db)
            return True

    def delete_collection(self, collection_id: int) -> tuple[list[str], list[str], list[str]]:
        """Remove a collection, and every article in no other collection, in one transaction: (the articles
        removed, their chunk ids, the articles that stay because another collection holds them)."""
        with self._write() as db:
            members = set(db.scalars(select(memberships.c.article_id).where(
                memberships.c.collection_id == collection_id)))
            elsewhere = set(db.scalars(select(memberships.c.article_id).where(
                memberships.c.collection_id != collection_id,
                memberships.c.article_id.in_(select(memberships.c.article_id).where(
                    memberships.c.collection_id == collection_id)),
            )))
            removed = sorted(members - elsewhere)
            chunk_ids: list[str] = []
            for i in range(0, len(removed), _IN_BATCH):
                part = removed[i : i + _IN_BATCH]
                chunk_ids += db.scalars(select(chunks.c.id).where(chunks.c.article_id.in_(part)))
                db.execute(delete(chunks).where(chunks.c.article_id.in_(part)))
                db.execute(delete(articles).where(articles.c.id.in_(part)))
            db.execute(delete(memberships).where(memberships.c.collection_id == collection_id))
            db.execute(delete(collections).where(collections.c.id == collection_id))
            _scopes_changed(db)
            if removed:
                self._bump(db, "remove", removed)
        return removed, chunk_ids, sorted(elsewhere)

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


def _named_alike(db: Connection, name: str, but: int | None = None) -> str | None:
    """The collection named ``name`` but for case, if any (``but``: other than that one): keys and /v1's model
    ids match names exactly, so "Sport" beside "sport" would be a typo away from the wrong articles."""
    query = select(collections.c.name).where(func.lower(collections.c.name) == name.lower())
    if but is not None:
        query = query.where(collections.c.id != but)
    return db.scalar(query)


def _collection_id(db: Connection, name: str) -> int:
    found = db.scalar(select(collections.c.id).where(collections.c.name == name))
    if found is None:
        raise errors.CollectionNotFound(name)
    return found


def _join(db: Connection, article_ids: list[str], collection_id: int) -> list[str]:
    if not article_ids:
        return []
    present = set()
    for i in range(0, len(article_ids), _IN_BATCH):
        present |= set(db.scalars(select(memberships.c.article_id).where(
            memberships.c.collection_id == collection_id, memberships.c.article_id.in_(article_ids[i : i + _IN_BATCH]))))
    new = [a for a in dict.fromkeys(article_ids) if a not in present]
    if new:
        db.execute(insert(memberships), [{"article_id": a, "collection_id": collection_id} for a in new])
        _scopes_changed(db)
    return new


SCOPES = "scopes"  # meta: bumped, in the same transaction, by every change of what a collection holds or is called


def _scopes_changed(db: Connection) -> None:
    """Count a change of memberships or names, so a cached scope (Index.scope) is read again. One UPDATE: writers
    of every replica may do it at once."""
    bumped = db.execute(update(meta).where(meta.c.key == SCOPES)
                        .values(value=cast(cast(meta.c.value, Integer) + 1, Text))).rowcount
    if not bumped:
        db.execute(insert(meta).values(key=SCOPES, value="1"))


def _now(timespec: str = "milliseconds") -> str:
    return datetime.now(UTC).isoformat(timespec=timespec)


def _put_meta(db, values: dict[str, str]) -> None:
    if values:
        db.execute(delete(meta).where(meta.c.key.in_(list(values))))
        db.execute(insert(meta), [{"key": k, "value": v} for k, v in values.items()])
