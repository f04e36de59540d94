"""The manifest: a SQLite file beside the vectors that says what the index holds.

It is the source of truth. A chunk is live only if the manifest lists it, so
vectors written by an ingest that died before its manifest commit are never
returned (and are swept by the next ingest). One SQLite transaction per batch
is what makes an ingest leave the index as it was when it fails.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from .. import errors
from ..models import Article, ArticleInfo, Chunk

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    url TEXT,
    published TEXT,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_article ON chunks(article_id);
"""


class Manifest:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        try:
            self._db.executescript(SCHEMA)  # executescript manages its own transaction
        except sqlite3.DatabaseError as exc:
            raise errors.StoreError(f"cannot open the index manifest {path}: {exc}") from None

    # One connection per thread: sqlite3 connections must not cross threads.
    @property
    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # --- meta --------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @property
    def generation(self) -> int:
        """Bumped on every change, so in-memory caches (BM25) know when to rebuild."""
        return int(self.get_meta("generation") or 0)

    # --- articles ----------------------------------------------------------
    def content_hash(self, article_id: str) -> str | None:
        row = self._db.execute("SELECT content_hash FROM articles WHERE id = ?", (article_id,)).fetchone()
        return row[0] if row else None

    def chunk_ids(self, article_id: str) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE article_id = ?", (article_id,))]

    def commit_articles(self, batch: Iterable[tuple[Article, list[Chunk]]]) -> None:
        """Replace each article and its chunks, all in one transaction."""
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._write() as db:
            for article, chunks in batch:
                db.execute("DELETE FROM chunks WHERE article_id = ?", (article.id,))
                db.execute(
                    "INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (article.id, article.title, article.source, article.url, article.published,
                     article.content_hash, article.text, now),
                )
                db.executemany(
                    "INSERT INTO chunks VALUES (?, ?, ?, ?, ?)",
                    [(c.id, c.article_id, c.start, c.end, c.text) for c in chunks],
                )
            self._bump(db)

    def delete_article(self, article_id: str) -> list[str]:
        """Remove an article; returns the chunk ids whose vectors should go too."""
        with self._write() as db:
            ids = [r[0] for r in db.execute("SELECT id FROM chunks WHERE article_id = ?", (article_id,))]
            if db.execute("DELETE FROM articles WHERE id = ?", (article_id,)).rowcount == 0:
                raise errors.ArticleNotFound(article_id)
            db.execute("DELETE FROM chunks WHERE article_id = ?", (article_id,))
            self._bump(db)
        return ids

    def _bump(self, db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO meta(key, value) VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def article(self, article_id: str) -> Article:
        row = self._db.execute(
            "SELECT id, title, text, source, url, published, content_hash FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        if row is None:
            raise errors.ArticleNotFound(article_id)
        return Article(*row)

    def articles(self) -> list[ArticleInfo]:
        rows = self._db.execute(
            "SELECT a.id, a.title, a.source, a.url, a.published, COUNT(c.id), LENGTH(a.text), a.ingested_at "
            "FROM articles a LEFT JOIN chunks c ON c.article_id = a.id GROUP BY a.id ORDER BY a.title"
        )
        return [ArticleInfo(*row) for row in rows]

    def article_urls(self) -> list[tuple[str, str]]:
        """(id, url) of every article that has a link."""
        return list(self._db.execute("SELECT id, url FROM articles WHERE url IS NOT NULL AND url != ''"))

    def article_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]

    # --- chunks ------------------------------------------------------------
    def chunks(self, ids: list[str]) -> dict[str, Chunk]:
        out: dict[str, Chunk] = {}
        for i in range(0, len(ids), 500):  # SQLite caps bound parameters
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            for row in self._db.execute(
                f"SELECT id, article_id, text, start, end FROM chunks WHERE id IN ({marks})", part
            ):
                out[row[0]] = Chunk(*row)
        return out

    def all_chunks(self) -> list[Chunk]:
        return [Chunk(*row) for row in self._db.execute("SELECT id, article_id, text, start, end FROM chunks ORDER BY rowid")]

    def all_chunk_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT id FROM chunks")}
