"""The server bench/load.py loads: one it starts (`assistant serve` on a free port, a temp index) or one at --url
(loopback addresses only), waited for until ready, and its memory."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench.backing_servers import free_port

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# High enough that no number of local clients reaches it: the bench measures the server, not the limiter.
BENCH_RATE_PER_MINUTE = 10_000_000


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of a process in MiB (VmRSS from /proc), None if unknown or gone."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class OwnServer:
    """`assistant serve` on a free port of 127.0.0.1 over a fresh index in a temp dir."""

    def __init__(self, corpus: list[Path], *, startup_timeout: float = 600, checkout: Path | None = None):
        self.corpus = corpus
        self.checkout = checkout  # another checkout of the project to serve (an earlier commit), else this one
        self.startup_timeout = startup_timeout
        self.key = secrets.token_urlsafe(24)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = Path(tempfile.mkdtemp(prefix="assistant-load-"))
        self.log_path = self.tmp / "server.log"
        self.proc: subprocess.Popen | None = None
        self.pid: int | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        passed = {k: v for k, v in os.environ.items() if k.startswith("ASSISTANT_")}
        for k in ("ASSISTANT_INDEX_DIR", "ASSISTANT_CHROMA_URL", "ASSISTANT_CONFIG", "ASSISTANT_KEYS_FILE",
                  "ASSISTANT_ADMIN_KEYS", "ASSISTANT_WIDGET_KEYS", "ASSISTANT_WIDGET_ORIGINS",
                  "ASSISTANT_API_RATE_PER_MINUTE", "ASSISTANT_HOST", "ASSISTANT_PORT"):
            passed.pop(k, None)
        return env | passed | {
            "ASSISTANT_INDEX_DIR": str(self.tmp / "index"),
            "ASSISTANT_CONFIG": "",  # never the developer's settings file
            "ASSISTANT_ADMIN_KEYS": self.key,
            "ASSISTANT_API_RATE_PER_MINUTE": str(BENCH_RATE_PER_MINUTE),
        }

    def start(self) -> None:
        """Copy the corpus into one folder, serve with --seed (ingested before it listens), wait for /ready."""
        seed = self.tmp / "corpus"
        seed.mkdir()
        for i, folder in enumerate(self.corpus):
            if not folder.exists():
                print(f"note: corpus folder {folder} does not exist; skipped", file=sys.stderr)
                continue
            target = seed / f"{i}-{folder.name}"
            if folder.is_dir():
                shutil.copytree(folder, target)
            else:
                target.mkdir()
                shutil.copy2(folder, target)
        serve = ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--seed", str(seed)]
        if self.checkout is None:
            cmd = [str(Path(sys.executable).parent / "assistant"), *serve]
        else:  # the other checkout's package first on the path, with this one's installed dependencies
            start = f"import sys; sys.path.insert(0, {str(self.checkout)!r}); from assistant.cli import main; main()"
            cmd = [sys.executable, "-c", start, *serve]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(cmd, env=self.env(), cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        wait_ready(self.url, self.startup_timeout, self.proc, self.log_path)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)  # uvicorn waits for requests in flight (an upload) first
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log_problems(self) -> dict:
        """Tracebacks and ERROR lines the server logged (the first one's tail, to diagnose errors)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return {"tracebacks": 0, "error_lines": 0}
        lines = text.splitlines()
        tracebacks = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
        found = {"tracebacks": len(tracebacks), "error_lines": sum(line.startswith("ERROR") for line in lines)}
        if tracebacks:
            first = tracebacks[0]
            end = next((j for j in range(first + 1, len(lines)) if lines[j] and not lines[j][0].isspace()
                        and not lines[j].startswith(("Traceback", "The above", "During handling"))), len(lines) - 1)
            found["first_traceback"] = "\n".join(lines[max(0, first - 2): end + 1][-40:])
        return found


def wait_ready(url: str, timeout: float, proc: subprocess.Popen | None = None, log_path: Path | None = None) -> dict:
    """Poll GET /ready until 200 (the server loads its models in the background)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    with httpx.Client(timeout=10) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:] if log_path else ""
                raise RuntimeError(f"the server exited with code {proc.returncode} before it was ready:\n{tail}")
            try:
                response = client.get(f"{url}/ready")
                if response.status_code == 200:
                    return response.json()
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.5)
    raise RuntimeError(f"{url}/ready did not answer 200 within {timeout:.0f} s (last: {last})")


def check_local(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOCAL_HOSTS:
        raise SystemExit(f"refusing {url!r}: the load test only runs against http(s)://127.0.0.1 or localhost")
    return url.rstrip("/")
