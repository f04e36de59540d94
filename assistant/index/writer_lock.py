"""The lock writers take turns on: ingests and removals never overlap, whichever process or host runs them.

Two kinds, by where the manifest is:

- in the index folder (SQLite): ``write.lock`` there, an OS lock that dies with its process;
- in a database server (PostgreSQL): a session advisory lock on a connection held for the write, which the
  server drops when that connection ends, so a replica killed mid-ingest never leaves the index locked.
"""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, text

from .. import database, errors
from ..folders import make_private
from .manifest import Manifest

# One index per database (its manifest tables), so one lock key per database.
ADVISORY_KEY = 0x6D616E69  # "mani"
POLL_S = 0.2


class WriterLock(abc.ABC):
    @staticmethod
    def for_manifest(manifest: Manifest, index_dir: Path) -> WriterLock:
        if manifest.shared:
            return DatabaseLock(manifest.engine, manifest.url)
        return FolderLock(Path(index_dir))

    @abc.abstractmethod
    @contextmanager
    def held(self, timeout: float) -> Iterator[None]:
        """Hold the lock for the block; IndexBusy if another writer still holds it after ``timeout`` seconds."""

    @abc.abstractmethod
    def confirm(self) -> None:
        """Just before a commit: StoreError if the lock held for this write has been lost meanwhile."""


class FolderLock(WriterLock):
    def __init__(self, index_dir: Path):
        make_private(index_dir)
        self.where = index_dir
        self._lock = FileLock(str(index_dir / "write.lock"))

    @contextmanager
    def held(self, timeout: float) -> Iterator[None]:
        try:
            self._lock.acquire(timeout=timeout)
        except Timeout:
            raise errors.IndexBusy(f"another process is writing to the index at {self.where}; try again when it ends") from None
        try:
            yield
        finally:
            self._lock.release()

    def confirm(self) -> None:
        pass  # an OS lock on a file lasts as long as its process: it cannot be lost while the write goes on


class DatabaseLock(WriterLock):
    def __init__(self, engine: Engine, url: str):
        self.engine, self.url = engine, url
        self._connection = threading.local()  # the connection holding the lock, in the writing thread

    def confirm(self) -> None:
        """The server drops the lock with its connection (a restart, a network cut), and another replica may
        then take it: a write that goes on would commit beside that one, whose sweep deletes the vectors this
        one has not committed yet. So each commit first asks the lock's own connection whether it still holds it."""
        connection = getattr(self._connection, "held", None)
        if connection is None:
            return
        try:
            still = connection.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = :key AND objsubid = 1 "
                "AND granted "
                "AND pid = pg_backend_pid()"), {"key": ADVISORY_KEY})
            connection.commit()
        except Exception as exc:
            still, why = 0, database.reason(exc)
        else:
            why = "the database no longer lists it"
        if not still:
            raise errors.StoreError(f"the write lock on the shared index was lost ({why}); nothing more was "
                                    "committed, and the next ingest clears what this one had written")

    @contextmanager
    def held(self, timeout: float) -> Iterator[None]:
        try:
            connection = self.engine.connect()
        except Exception as exc:
            raise errors.StoreError(f"cannot lock the index in {database.redact(self.url)}: {database.reason(exc)}") from None
        try:
            deadline = time.monotonic() + timeout
            # try-and-poll rather than a blocking pg_advisory_lock: the wait keeps its timeout and its message
            while not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}):
                if time.monotonic() > deadline:
                    raise errors.IndexBusy("another replica is writing to the shared index; try again when it ends")
                time.sleep(POLL_S)
            connection.commit()  # end the implicit transaction; the session lock stays until unlocked
            self._connection.held = connection
            try:
                yield
            finally:
                self._connection.held = None
                try:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                    connection.commit()
                except Exception:  # the connection is gone, and with it the lock
                    connection.invalidate()
        finally:
            connection.close()
