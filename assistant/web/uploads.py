"""Where uploaded files wait to be ingested, and the ingest jobs that take them.

One folder per server process (``$TMPDIR/assistant-uploads-<pid>-<random>``, mode 0700), removed at
exit; a process that was killed leaves its folder behind, and the next server
on the machine sweeps it. The chat page's uploads (Gradio's cache) go there
too, unless GRADIO_TEMP_DIR says otherwise.

Uploads through the API run as jobs on one worker thread: the request returns
at once with a job to poll, questions keep being answered meanwhile, and two
uploads never compete for the cores. A job of links is fetched first, on a pool
of its own (each link within its deadline), and only then queued for indexing:
a slow site never holds up the uploads behind it. Each job's progress is also written to the
store (assistant/store/jobs.py), so behind a load balancer any replica can say
how it is doing, and a job whose replica died says so.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import stat
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .. import errors
from ..core import Assistant
from ..models import IngestReport, Link
from ..store import JobRecord
from ..store.jobs import HEARTBEAT_S, this_replica
from .schemas import IngestReportOut

log = logging.getLogger("assistant.web")

PREFIX = "assistant-uploads-"
_area: Path | None = None
_users = 0  # apps of this process using the area; the last one to stop removes it
_area_lock = threading.Lock()


def upload_area() -> Path:
    """This process's upload folder (created, and stale ones of dead processes swept, on first use)."""
    global _area
    with _area_lock:
        if _area is None or not _area.is_dir():
            base = Path(tempfile.gettempdir())
            sweep(base)
            # mkdtemp: mode 0700 and a name no one can guess. A fixed name in a shared /tmp could be created first by
            # another local user, who would then read or swap the uploads.
            _area = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))
            (_area / "page").mkdir()
            _point_gradio_at(_area / "page")  # read by Gradio when the page mounts
            atexit.register(shutil.rmtree, _area, True)  # a normal exit; SIGTERM ends through release_upload_area
        return _area


_gradio_dir: str | None = None  # the GRADIO_TEMP_DIR this module set (one the operator set is left alone)


def _point_gradio_at(folder: Path) -> None:
    global _gradio_dir
    if os.environ.get("GRADIO_TEMP_DIR") in (None, _gradio_dir):
        _gradio_dir = os.environ["GRADIO_TEMP_DIR"] = str(folder)


def use_upload_area() -> Path:
    global _users
    area = upload_area()
    with _area_lock:
        _users += 1
    return area


def release_upload_area() -> None:
    """An app stopped (uvicorn re-raises SIGTERM after shutdown, so atexit would not run): the last one cleans up."""
    global _users, _area
    with _area_lock:
        _users = max(0, _users - 1)
        if _users == 0 and _area is not None:
            shutil.rmtree(_area, ignore_errors=True)
            _area = None  # the next app makes a new one: the old name, known now, is not taken again


def sweep(base: Path) -> list[Path]:
    """Remove the upload folders of processes that no longer run (named ``<PREFIX><pid>-<random>``)."""
    removed = []
    for folder in base.glob(f"{PREFIX}*"):
        pid = folder.name.removeprefix(PREFIX).split("-")[0]
        if pid.isdigit() and not _alive(int(pid)) and _ours(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _ours(folder: Path) -> bool:
    """A real folder of this user: never follow a link planted in /tmp, nor try to remove another user's folder."""
    try:
        st = folder.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def new_upload_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="upload-", dir=upload_area()))


@dataclass
class IngestJob:
    id: str
    files: int
    status: Literal["queued", "running", "done", "failed"] = "queued"
    done: int = 0  # files handled so far
    report: IngestReport | None = None
    error: str | None = None
    error_status: int = 500  # the HTTP status of ``error``
    names: dict[str, str] = field(default_factory=dict, repr=False)  # temp path (or link) -> uploaded name
    links: list | None = field(default=None, repr=False)  # a job of links: each fetched (LoadedLink), then ingested
    indexed: list[str] = field(default_factory=list, repr=False)  # the names of the files committed so far
    sources: dict[str, str] = field(default_factory=dict, repr=False)  # temp path -> recorded source
    collection: str | None = None  # where the articles go (None: default for new ones)
    created: float = field(default_factory=time.time)

    def record(self) -> JobRecord:
        """The job as the store keeps it and the API sends it (one shape whichever replica answers)."""
        report = IngestReportOut.of(self.report, self.names).model_dump() if self.report else None
        return JobRecord(self.id, self.status, self.files, self.done, report, self.error, self.error_status,
                         this_replica(), tuple(self.indexed), self.collection)


class IngestJobs:
    """Upload jobs, run one at a time on a worker thread; the newest ``keep`` are remembered."""

    def __init__(self, assistant: Assistant, keep: int = 200):
        self.assistant = assistant
        self.keep = keep
        self._jobs: OrderedDict[str, IngestJob] = OrderedDict()
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assistant-ingest")
        self._fetcher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="assistant-fetch-jobs")
        self._heart: threading.Thread | None = None
        self._stopping = False

    def submit(self, folder: Path, names: dict[str, str], sources: dict[str, str],
               collection: str | None = None) -> IngestJob:
        """Ingest the uploads in ``folder`` (``names``: temp path -> uploaded name) into ``collection``, recording
        ``sources``."""
        try:
            job = self._new(IngestJob(id=uuid.uuid4().hex, files=len(names), names=names, sources=sources,
                                      collection=collection))
        except errors.StoreError:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._worker.submit(self._run, job, folder)
        return job

    def submit_links(self, links: list[Link], collection: str | None = None) -> IngestJob:
        """Fetch ``links`` (on the fetch pool), then ingest what came back (on the worker) into ``collection``."""
        job = self._new(IngestJob(id=uuid.uuid4().hex, files=len(links), names={k.url: k.url for k in links},
                                  collection=collection))

        def fetch_then_queue() -> None:
            try:
                job.links = self.assistant.fetch_links(links)
            except Exception:  # fetch_links returns each link's error; anything else is a bug
                log.exception("fetching the links of job %s failed", job.id)
                job.status, job.error = "failed", "internal error while fetching; see the server log"
                self._keep(job.id, lambda jobs: jobs.update(job.id, status="failed", error=job.error))
                return
            self._worker.submit(self._run, job, None)

        self._fetcher.submit(fetch_then_queue)
        return job

    def _new(self, job: IngestJob) -> IngestJob:
        """The job, recorded in the store first: a job only this replica knew of would be a 404 on the others
        (behind a balancer, polling its status_url would fail), so a store that cannot record it refuses it."""
        try:
            self.assistant.store.jobs.create(job.id, job.files, job.collection)
        except errors.StoreError as exc:  # of its kind: a full disk stays a 507
            raise type(exc)(f"the upload was not taken, nothing was ingested: {exc}") from None
        log.info("upload job %s: %d file(s) or link(s), into %s", job.id, job.files, job.collection or "default")
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self.keep:
                self._jobs.popitem(last=False)
            if self._heart is None:
                self._heart = threading.Thread(target=self._beat, name="assistant-job-heartbeat", daemon=True)
                self._heart.start()
        return job

    def get(self, job_id: str) -> JobRecord:
        """A job of this server (as it is now), else one another replica runs or ran (from the store)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None:
            return job.record()
        return self.assistant.store.jobs.get(job_id)

    def _keep(self, job_id: str, write) -> None:
        """Write to the store's job table; a store that cannot be written never fails the upload itself."""
        try:
            write(self.assistant.store.jobs)
        except errors.StoreError as exc:
            log.warning("upload job %s: could not record its progress: %s", job_id, exc)

    def _beat(self) -> None:
        while True:
            time.sleep(HEARTBEAT_S)
            with self._lock:
                running = {j.id: j.done for j in self._jobs.values() if j.status in ("queued", "running")}
            try:
                if running:
                    self._keep(",".join(running), lambda jobs, running=running: jobs.beat(running))
            except Exception:  # the heartbeat must outlive any one failure, or live jobs would look dead
                log.exception("upload jobs' heartbeat failed")

    def _run(self, job: IngestJob, folder: Path | None) -> None:
        with self._lock:  # a job stop() failed stays failed: it never starts after the shutdown began
            if self._stopping:
                if folder is not None:
                    shutil.rmtree(folder, ignore_errors=True)
                return
            job.status = "running"
        self._keep(job.id, lambda jobs: jobs.update(job.id, status="running"))
        noted = [time.monotonic()]

        def progress(done: int, total: int, path: str) -> None:
            job.done = done
            if time.monotonic() - noted[0] > 0.5:  # a row write per half second at most, not per file
                noted[0] = time.monotonic()
                self._keep(job.id, lambda jobs: jobs.update(job.id, done=done))

        def written(paths: list[str]) -> None:  # kept as it happens: a replica that dies can still say what landed
            job.indexed += [job.names.get(p, p) for p in paths]
            self._keep(job.id, lambda jobs: jobs.update(job.id, indexed=list(job.indexed)))

        try:
            report = self.assistant.ingest(
                [] if job.links is not None else list(job.names),
                links=job.links or [],
                sources=job.sources,
                on_progress=progress,
                on_written=written,
                max_chunks=self.assistant.settings.ingest_max_chunks,
                collection=job.collection,
            )
            ended = dict(status="done", report=report, error=None, error_status=500)
        except errors.AssistantError as exc:
            ended = dict(status="failed", error=str(exc), error_status=exc.status_code)
        except Exception:  # a bug: the job says so, the log has the traceback
            log.exception("ingest job %s failed", job.id)
            ended = dict(status="failed", error="internal error while ingesting; see the server log", error_status=500)
        finally:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        # Under the lock, store write included, so that stop() and this job's end are recorded in the order they
        # happened: an ingest that completes after stop() failed it ends "done", as it is.
        with self._lock:
            for name, value in ended.items():
                setattr(job, name, value)
            if job.status == "done":
                log.info("upload job %s done: %s", job.id, job.report.counts())
            else:
                log.warning("upload job %s failed: %s", job.id, job.error)
            final = job.record()
            self._keep(job.id, lambda jobs: jobs.update(
                job.id, status=final.status, done=final.done, report=final.report, error=final.error,
                error_status=final.error_status,
            ))

    def stop(self) -> None:
        """At shutdown: the jobs not finished are failed now, saying why, rather than left "running" until
        another server finds their heartbeat stale; queued ones never start."""
        with self._lock:
            self._stopping = True
            for job in [j for j in self._jobs.values() if j.status in ("queued", "running")]:
                job.status, job.error_status = "failed", 503
                job.error = (f"the server stopped before this upload finished ({len(job.indexed)} committed, "
                             "listed in indexed); uploading the same files again adds the rest")
                log.warning("upload job %s: %s", job.id, job.error)
                self._keep(job.id, lambda jobs, job=job: jobs.update(job.id, status="failed", error=job.error,
                                                                     error_status=job.error_status))
        self._worker.shutdown(wait=False, cancel_futures=True)
        self._fetcher.shutdown(wait=False, cancel_futures=True)

    def wait(self, job: IngestJob, timeout: float) -> IngestJob:
        deadline = time.monotonic() + timeout
        while job.status in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.05)
        return job
