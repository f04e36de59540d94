"""The feeds an index follows, in the manifest's database (migration manifest_0004): a feed's link, the
collection its items go in, how often it is polled, and what the last poll left (its validators for a
conditional request, the items it read, its error).

Polls take turns by a lease: a replica takes a due feed with one UPDATE that succeeds only while nobody holds it
(the lease expired or was never taken), on SQLite and PostgreSQL alike, so exactly one replica polls each feed
at a time; it renews the lease while it polls (a poll may outlast one: slow pages, the write lock) and gives it
back with the poll's outcome. A replica that dies mid-poll holds the feed until ``feed_lease_s`` passes.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Boolean, Column, Float, Integer, Table, Text, and_, delete, insert, or_, select, update

from .. import errors
from ..models import FeedInfo
from .manifest import Manifest, collections, tables

log = logging.getLogger(__name__)

feeds = Table(
    "feeds", tables,
    Column("id", Integer, primary_key=True), Column("url", Text), Column("collection_id", Integer),
    Column("every_s", Float), Column("prune", Boolean), Column("added_at", Float), Column("next_poll_at", Float),
    Column("last_polled_at", Float), Column("last_ok_at", Float), Column("last_error", Text),
    Column("last_report", Text), Column("etag", Text), Column("last_modified", Text), Column("items", Text),
    Column("lease_owner", Text), Column("lease_expires", Float),
)


@dataclass(frozen=True)
class FeedState:
    """A feed as a poll needs it."""

    info: FeedInfo
    etag: str | None
    last_modified: str | None
    items: dict[str, str] = field(default_factory=dict)  # article id -> fingerprint, as of the last poll


class FeedTable:
    def __init__(self, manifest: Manifest):
        self.manifest = manifest

    def add(self, url: str, collection_id: int, every_s: float, prune: bool) -> int:
        now = time.time()
        with self.manifest._write() as db:
            taken = db.scalar(select(feeds.c.id).where(feeds.c.url == url, feeds.c.collection_id == collection_id))
            if taken is not None:
                raise errors.CollectionConflict(f"url: this feed goes in that collection already (feed {taken})")
            return db.execute(insert(feeds).values(
                url=url, collection_id=collection_id, every_s=every_s, prune=prune, added_at=now, next_poll_at=now,
                items="{}",
            )).inserted_primary_key[0]

    def remove(self, feed_id: int) -> None:
        with self.manifest._write() as db:
            if db.execute(delete(feeds).where(feeds.c.id == feed_id)).rowcount == 0:
                raise errors.FeedNotFound(feed_id)

    def remove_of_collection(self, collection_id: int) -> None:
        with self.manifest._write() as db:
            db.execute(delete(feeds).where(feeds.c.collection_id == collection_id))

    def states(self, collection_ids: list[int] | None = None) -> list[FeedState]:
        query = select(feeds, collections.c.name).join(collections, collections.c.id == feeds.c.collection_id)
        if collection_ids is not None:
            query = query.where(feeds.c.collection_id.in_(collection_ids))
        with self.manifest._read() as db:
            return [_state(row) for row in db.execute(query.order_by(feeds.c.id)).mappings()]

    def state(self, feed_id: int) -> FeedState:
        found = [s for s in self.states() if s.info.id == feed_id]
        if not found:
            raise errors.FeedNotFound(feed_id)
        return found[0]

    def due(self, now: float | None = None) -> list[int]:
        """The feeds whose poll is due and that nobody holds."""
        now = time.time() if now is None else now
        with self.manifest._read() as db:
            return list(db.scalars(select(feeds.c.id).where(feeds.c.next_poll_at <= now, _free(now))
                                   .order_by(feeds.c.next_poll_at)))

    def take(self, feed_id: int, owner: str, lease_s: float, *, due_only: bool = True) -> bool:
        """Take a feed to poll it (True), unless another holds it, or (``due_only``) its poll is not due yet."""
        now = time.time()
        condition = and_(feeds.c.id == feed_id, _free(now))
        if due_only:
            condition = and_(condition, feeds.c.next_poll_at <= now)
        with self.manifest._write() as db:
            taken = db.execute(update(feeds).where(condition).values(lease_owner=owner, lease_expires=now + lease_s))
            return taken.rowcount == 1

    def renew(self, feed_id: int, owner: str, lease_s: float) -> bool:
        """Hold the feed ``lease_s`` longer; False when ``owner`` no longer holds it (it expired and was taken)."""
        with self.manifest._write() as db:
            renewed = db.execute(update(feeds).where(feeds.c.id == feed_id, feeds.c.lease_owner == owner)
                                 .values(lease_expires=time.time() + lease_s))
            return renewed.rowcount == 1

    @contextmanager
    def held(self, feed_id: int, owner: str, lease_s: float) -> Iterator[None]:
        """Renew the lease every third of it while the block runs."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(lease_s / 3):
                try:
                    self.renew(feed_id, owner, lease_s)
                except Exception:  # the database is away a moment: the next beat tries again
                    log.warning("renewing the lease of feed %s failed", feed_id, exc_info=True)

        beating = threading.Thread(target=beat, name=f"feed {feed_id} lease", daemon=True)
        beating.start()
        try:
            yield
        finally:
            done.set()
            beating.join()

    def finish(self, feed_id: int, owner: str, *, ok: bool, error: str | None, report: str | None,
               etag: str | None = None, last_modified: str | None = None, items: dict[str, str] | None = None) -> None:
        """Record a poll's outcome and give the lease back (only the holder's outcome counts)."""
        now = time.time()
        with self.manifest._write() as db:
            row = db.execute(select(feeds.c.every_s).where(feeds.c.id == feed_id, feeds.c.lease_owner == owner)).first()
            if row is None:  # removed meanwhile, or the lease passed to another replica
                return
            values = {"lease_owner": None, "lease_expires": None, "last_polled_at": now, "next_poll_at": now + row[0],
                      "last_error": error, "last_report": report}
            if ok:
                values |= {"last_ok_at": now, "etag": etag, "last_modified": last_modified}
                if items is not None:
                    values["items"] = json.dumps(items)
            db.execute(update(feeds).where(feeds.c.id == feed_id).values(**values))


def _free(now: float):
    return or_(feeds.c.lease_expires.is_(None), feeds.c.lease_expires < now)


def _iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def _state(row) -> FeedState:
    items = json.loads(row["items"] or "{}")
    info = FeedInfo(
        id=row["id"], url=row["url"], collection=row["name"], every_s=row["every_s"], prune=bool(row["prune"]),
        added_at=_iso(row["added_at"]), next_poll_at=_iso(row["next_poll_at"]), last_polled_at=_iso(row["last_polled_at"]),
        last_ok_at=_iso(row["last_ok_at"]), last_error=row["last_error"], last_report=row["last_report"],
        items=len(items),
    )
    return FeedState(info, row["etag"], row["last_modified"], items)
