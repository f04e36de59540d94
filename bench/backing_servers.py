"""Real PostgreSQL, Redis, Chroma and HAProxy servers on 127.0.0.1, each in its own temp dir, for tests and benches.

Each is a context manager and also has start()/stop(), which keep its port and its data (a restart test
stops and starts the same server). The Debian packages (postgresql, redis-server, haproxy) are installed
by `make test` when missing; Chroma's server is the `chroma` command of the chromadb package.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before listening on port {port}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f} s")
        time.sleep(0.1)


class _Server:
    what = "server"
    process: subprocess.Popen | None = None
    stop_signal = signal.SIGTERM

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self):
        with self.log.open("ab") as log:  # the server keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, preexec_fn=self._demote()
            )
        _wait_for_port(self.port, self.process, self.what)
        self._ready()
        return self

    def _ready(self) -> None:
        pass

    def _demote(self):
        return None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self.cleanup()

    def cleanup(self) -> None:
        """Remove the server's temp dir (its data, log and config)."""
        shutil.rmtree(self.root, ignore_errors=True)


class PostgresServer(_Server):
    """A PostgreSQL cluster made by initdb in a fresh temp dir (trust auth, loopback only).

    PostgreSQL refuses to run as root, so as root the cluster belongs to Debian's ``postgres`` user.
    """

    what = "postgres"
    # SIGTERM is PostgreSQL's "smart" shutdown, which waits for every client (a test's pooled connections)
    # to leave; SIGINT is its "fast" one: clients are disconnected and the cluster still shuts down cleanly.
    stop_signal = signal.SIGINT

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed (Debian's postgresql package; `make test` installs it)")
        self.bin = Path(bins[-1])
        self.root = Path(tempfile.mkdtemp(prefix="assistant-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if self._user:
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
        subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--no-sync"],
            check=True, capture_output=True, preexec_fn=self._demote(),
        )

    def _demote(self):
        if not self._user:
            return None
        uid, gid = self._user.pw_uid, self._user.pw_gid

        def demote() -> None:
            os.setgid(gid)
            os.setuid(uid)

        return demote

    def command(self) -> list[str]:
        return [str(self.bin / "postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port),
                "-k", str(self.root), "-c", "fsync=off", "-c", "max_connections=200"]

    def _ready(self) -> None:
        # Listening is not accepting: wait until a query works (startup recovery may still run).
        deadline = time.monotonic() + 30
        while subprocess.run([str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                             capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("postgres did not accept connections within 30 s")
            time.sleep(0.1)

    def create_database(self, name: str) -> str:
        """A new empty database on this server; returns its SQLAlchemy URL."""
        subprocess.run([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name],
                       check=True, capture_output=True)
        return self.url.rsplit("/", 1)[0] + "/" + name


class RedisServer(_Server):
    """redis-server on loopback, nothing persisted."""

    what = "redis-server"

    def __init__(self):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian's redis-server package; `make test` installs it)")
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="assistant-redis-"))
        self.log = self.root / "redis.log"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
                "--dir", str(self.root), "--daemonize", "no"]


class ChromaServer(_Server):
    """A real `chroma run` on 127.0.0.1 over ``data``."""

    what = "chroma run"

    def __init__(self, data: Path | None = None):
        self.root = Path(tempfile.mkdtemp(prefix="assistant-chroma-"))
        self.data = data or self.root / "data"
        self.log = self.root / "chroma.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
        return [chroma, "run", "--path", str(self.data), "--host", "127.0.0.1", "--port", str(self.port)]

    def _ready(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chroma server did not answer its heartbeat within 60 s")
            time.sleep(0.2)


class HAProxy(_Server):
    """HAProxy balancing HTTP round-robin over ``backends`` (http://127.0.0.1:PORT each), health-checked on /ready."""

    what = "haproxy"

    def __init__(self, backends: list[str]):
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        if not Path(binary).exists():
            raise RuntimeError("haproxy is not installed (Debian's haproxy package)")
        self.binary = binary
        self.root = Path(tempfile.mkdtemp(prefix="assistant-haproxy-"))
        self.log = self.root / "haproxy.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        servers = "\n".join(
            f"    server app{i} {b.removeprefix('http://')} check inter 1s" for i, b in enumerate(backends)
        )
        (self.root / "haproxy.cfg").write_text(
            "global\n    maxconn 4096\n"
            "defaults\n    mode http\n    timeout connect 5s\n    timeout client 120s\n    timeout server 120s\n"
            f"frontend web\n    bind 127.0.0.1:{self.port}\n    default_backend apps\n"
            "backend apps\n    balance roundrobin\n    option httpchk GET /ready\n"
            # the replica's own trusted-proxy setting then reads the client address from X-Forwarded-For
            "    option forwardfor\n"
            f"{servers}\n"
        )

    def command(self) -> list[str]:
        return [self.binary, "-db", "-f", str(self.root / "haproxy.cfg")]
