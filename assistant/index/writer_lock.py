"""The lock writers take turns on: ingests and removals never overlap, whichever process or host runs them.

Two kinds, by where the manifest is:

- in the index folder (SQLite): ``write.lock`` there, an OS lock that dies with its process;
- in a database server (PostgreSQL): a session advisory lock on a connection held for the write, which the
  server drops when that connection ends, so a replica killed mid-ingest never leaves the index locked.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, text

from .. import database, errors
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


class FolderLock(WriterLock):
    def __init__(self, index_dir: Path):
        index_dir.mkdir(parents=True, exist_ok=True)
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


class DatabaseLock(WriterLock):
    def __init__(self, engine: Engine, url: str):
        self.engine, self.url = engine, url

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
            try:
                yield
            finally:
                try:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                    connection.commit()
                except Exception:  # the connection is gone, and with it the lock
                    connection.invalidate()
        finally:
            connection.close()
