"""Upload jobs in the database, so that any replica behind a load balancer answers ``GET /api/jobs/{id}``.

The replica that runs a job writes its progress here and beats a heartbeat while it runs. A job whose
replica stopped beating (killed, or its host gone) is shown as failed after ``STALE_AFTER_S``: what it
committed stays (whole articles only), and uploading the same files again finishes the rest.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .. import database, errors
from .conversations import _aware, now, writes
from .tables import JobRow

HEARTBEAT_S = 2.0
STALE_AFTER_S = 10.0  # five missed beats
KEEP_DAYS = 7


def this_replica() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


@dataclass(frozen=True)
class JobRecord:
    id: str
    status: str  # queued, running, done, failed
    files: int
    done: int
    report: dict | None  # as the API sends it
    error: str | None
    error_status: int
    replica: str
    indexed: tuple[str, ...] = ()  # the names of the files committed so far
    collection: str | None = None  # where it adds (None: default): keys scoped elsewhere never see it


class JobStore:
    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def create(self, job_id: str, files: int, collection: str | None = None) -> None:
        moment = now()
        with writes("the upload job"), self.sessions.begin() as session:
            session.execute(delete(JobRow).where(JobRow.created_at < moment - timedelta(days=KEEP_DAYS)))
            session.add(JobRow(id=job_id, status="queued", files=files, done=0, error_status=500,
                               replica=this_replica(), created_at=moment, heartbeat_at=moment, collection=collection))

    def update(self, job_id: str, **fields) -> None:
        """Record progress (status, done, indexed, report, error, error_status); also a heartbeat."""
        with writes("the upload job's progress"), self.sessions.begin() as session:
            session.execute(update(JobRow).where(JobRow.id == job_id).values(heartbeat_at=now(), **fields))

    def rename_collection(self, name: str, new_name: str | None) -> None:
        """Jobs follow their collection's new name (None: it was removed, and only unscoped keys see them now), so
        a key scoped to the old name neither keeps them nor sees them again in a new collection of that name."""
        with writes("the upload jobs' collection"), self.sessions.begin() as session:
            session.execute(update(JobRow).where(JobRow.collection == name).values(collection=new_name))

    def beat(self, done_by_job: dict[str, int]) -> None:
        """The running jobs' heartbeat, with how many files each has handled."""
        if done_by_job:
            with writes("the upload jobs' heartbeat"), self.sessions.begin() as session:
                for job_id, done in done_by_job.items():
                    session.execute(update(JobRow).where(JobRow.id == job_id).values(heartbeat_at=now(), done=done))

    def get(self, job_id: str) -> JobRecord:
        try:
            with self.sessions() as session:
                row = session.get(JobRow, job_id)
        except SQLAlchemyError as exc:  # e.g. the database is restarting: a 503 that says so
            raise errors.StoreError(f"could not read the upload job: {database.reason(exc)}") from None
        if row is None:
            raise errors.JobNotFound(job_id)
        record = JobRecord(row.id, row.status, row.files, row.done, row.report, row.error, row.error_status,
                           row.replica, tuple(row.indexed or ()), row.collection)
        silent = (now() - _aware(row.heartbeat_at)).total_seconds()
        if record.status in ("queued", "running") and silent > STALE_AFTER_S:
            indexed = record.indexed
            landed = (f"these {len(indexed)} of its {record.files} files were indexed before it stopped: "
                      f"{', '.join(indexed)}; the others were not" if indexed else "none of its files was indexed")
            return JobRecord(
                record.id, "failed", record.files, record.done, None,
                f"the server that ran this upload ({record.replica}) stopped {silent:.0f} s ago before it finished; "
                f"{landed}; uploading the same files again adds the rest (unchanged ones are skipped)",
                503, record.replica, indexed, record.collection,
            )
        return record
