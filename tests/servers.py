"""Real HTTP servers on 127.0.0.1 for tests, each on a free port, in a background thread."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from bench.backing_servers import free_port

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).parent / "assistant"


class ServerThread:
    def __init__(self, app, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class ServeProcess:
    """`assistant serve` as a real process on 127.0.0.1, with its own index, temp dir and log under ``root``."""

    def __init__(self, root: Path, env: dict[str, str], *args: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.log_path = root / f"serve-{self.port}.log"
        self.env = {**os.environ, "TMPDIR": str(self.tmp), "ASSISTANT_INDEX_DIR": str(root / "index"), **env}
        self.env.pop("GRADIO_TEMP_DIR", None)
        self.command = [str(CLI), "serve", "--port", str(self.port), *args]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> ServeProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"assistant serve exited with {self.process.returncode}:\n{self.log()[-3000:]}")
            try:
                if httpx.get(self.url + "/ready", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"assistant serve was not ready within 180 s:\n{self.log()[-3000:]}")
            time.sleep(0.3)

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def run_to_exit(self, timeout: float) -> subprocess.CompletedProcess:
        return subprocess.run(self.command, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def upload_area(self) -> Path:
        """The server's upload folder (see assistant/web/uploads.py), or a path that does not exist if it has none."""
        found = sorted(self.tmp.glob(f"assistant-uploads-{self.process.pid}-*"))
        return found[0] if found else self.tmp / f"assistant-uploads-{self.process.pid}-none"

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024


def gradio_call(http: httpx.Client, name: str, data: list) -> tuple[str, object]:
    """Call a chat page event handler as curl would: (event name, data) of its last event."""
    started = http.post(f"/gradio_api/call/{name}", json={"data": data})
    if started.status_code != 200:
        return f"http {started.status_code}", started.text
    event_id = started.json()["event_id"]
    event, payload = "", None
    with http.stream("GET", f"/gradio_api/call/{name}/{event_id}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                payload = json.loads(line.removeprefix("data:").strip() or "null")
    return event, payload


_next_address = itertools.cycle(range(10, 250))


def client_of_its_own(url: str, **headers) -> httpx.Client:
    """An HTTP client from an address of its own (127.0.0.N), so its rate-limit buckets are its own."""
    transport = httpx.HTTPTransport(local_address=f"127.0.0.{next(_next_address)}")
    return httpx.Client(base_url=url, transport=transport, headers=headers, timeout=120)
