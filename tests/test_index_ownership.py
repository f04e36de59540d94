"""One index, two processes: a second server or a command is refused clearly, and nothing is harmed.

Also: /ready tells the truth when the store behind a running server goes away.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, SEEDS
from servers import free_port
from test_chroma_server import start_chroma

CLI = str(Path(sys.executable).parent / "assistant")
pytestmark = pytest.mark.slow


def _env(index: Path, **extra: str) -> dict:
    return {**os.environ, "ASSISTANT_INDEX_DIR": str(index), "ASSISTANT_ADMIN_KEYS": "admin-test-key", **extra}


def _cli(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _wait(url: str, path: str, status: int = 200, timeout: float = 120) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(url + path, timeout=2)
            if response.status_code == status:
                return response
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url}{path} did not return {status} within {timeout} s")
        time.sleep(0.3)


class Server:
    """`assistant serve` as a real process on 127.0.0.1."""

    def __init__(self, env: dict, *args: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([CLI, "serve", "--port", str(self.port), *args], env=env, cwd=ROOT,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def __enter__(self):
        _wait(self.url, "/ready")
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def _articles(url: str) -> list[str]:
    response = httpx.get(url + "/api/articles", headers={"Authorization": "Bearer admin-test-key"}, timeout=30)
    response.raise_for_status()
    return sorted(a["id"] for a in response.json())


def test_second_serve_is_refused(tmp_path):
    env = _env(tmp_path / "index")
    with Server(env, "--seed", str(SEEDS)) as first:
        before = _articles(first.url)
        second = _cli("serve", "--port", str(free_port()), env=env, timeout=60)
        assert second.returncode != 0
        assert "in use by `assistant serve`" in second.stderr and first.url in second.stderr
        assert "Traceback" not in second.stderr
        # the first server is unharmed and still answers from the same index
        assert _articles(first.url) == before
        answer = httpx.post(first.url + "/api/ask", json={"question": "What does JIG stand for?"},
                            headers={"Authorization": "Bearer admin-test-key"}, timeout=60).json()
        assert "Joint Implementation Group" in answer["answer"]


def test_cli_ingest_while_serving_is_refused(tmp_path):
    env = _env(tmp_path / "index")
    extra = tmp_path / "extra.txt"
    extra.write_text("Harbour report\n\nThe new harbour crane lifted 40 tonnes on its first day.\n")
    with Server(env, "--seed", str(SEEDS)) as server:
        before = _articles(server.url)
        ingest = _cli("ingest", str(extra), env=env)
        assert ingest.returncode != 0
        assert "in use by `assistant serve`" in ingest.stderr and "API" in ingest.stderr
        assert _articles(server.url) == before
        ask = _cli("ask", "What does JIG stand for?", env=env)
        assert ask.returncode != 0 and "in use by `assistant serve`" in ask.stderr
        mcp = _cli("mcp", env=env)  # the same tools are at the server's /mcp/
        assert mcp.returncode != 0 and f"point the MCP client at {server.url.rstrip('/')}/mcp/" in mcp.stderr
    # once the server is gone, the same command works and the index holds both articles
    assert _cli("ingest", str(extra), env=env).returncode == 0
    listed = _cli("list", "--json", env=env)
    assert listed.returncode == 0 and listed.stdout.count('"id"') == len(before) + 1


def test_a_killed_server_leaves_the_index_free(tmp_path):
    env = _env(tmp_path / "index")
    server = Server(env, "--seed", str(SEEDS))
    with server:
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=30)
    listed = _cli("list", "--json", env=env)  # the OS released the claim with the process
    assert listed.returncode == 0 and '"id"' in listed.stdout


def test_ready_is_false_when_the_store_cannot_be_read(tmp_path):
    chroma = start_chroma(tmp_path / "chroma-data")
    env = _env(tmp_path / "index", ASSISTANT_CHROMA_URL=chroma.url, ASSISTANT_COLLECTION="ready-test")
    try:
        with Server(env, "--seed", str(SEEDS)) as server:
            assert _wait(server.url, "/ready").json()["vectors"] > 0
            chroma.stop()  # the store goes away under a running server
            broken = _wait(server.url, "/ready", status=503)
            assert "cannot be read" in broken.json()["reason"]
            assert httpx.get(server.url + "/health").status_code == 200  # the process itself is fine
            chroma.start()  # same data folder: the store comes back, and so does readiness
            assert _wait(server.url, "/ready").json()["vectors"] > 0
    finally:
        chroma.stop()


def test_an_index_folder_that_cannot_be_written_is_a_one_line_error(tmp_path):
    """A read-only mount, or (here) a folder under a file: every command said so with a traceback."""
    (tmp_path / "a-file").write_text("not a folder")
    done = _cli("list", env=_env(tmp_path / "a-file" / "index"))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"error: the index folder {tmp_path / 'a-file' / 'index'} cannot be used: ")


def test_a_full_disk_does_not_stop_an_index_being_opened(tmp_path, monkeypatch):
    """owner.json only tells waiting processes whose the index is: failing to write it (ENOSPC) is no error."""
    import errno

    from assistant.index import ownership
    from assistant.settings import load_settings

    def disk_full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ownership.Path, "write_text", disk_full)
    with ownership.claim(load_settings(index_dir=tmp_path / "index"), "list"):
        assert (tmp_path / "index" / "owner.lock").exists() and not (tmp_path / "index" / ownership.OWNER_FILE).exists()


def test_a_deleted_vector_store_is_named_not_taken_for_an_empty_index(tmp_path):
    """Chroma makes a new, empty collection where the deleted one was: answers came from keywords alone, /ready
    said ready with 0 vectors, and ingest called every article unchanged, so nothing ever repaired it."""
    import shutil

    env = _env(tmp_path / "index")
    assert _cli("ingest", str(SEEDS), env=env).returncode == 0
    shutil.rmtree(tmp_path / "index" / "chroma")
    for command in (["list"], ["ask", "What does JIG stand for?"], ["ingest", str(SEEDS)]):
        done = _cli(*command, env=env)
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert "holds none of the vectors of the 1 articles the manifest" in done.stderr
        assert "restore it from a backup" in done.stderr


def test_an_emptied_manifest_is_named_not_built_anew(tmp_path):
    """A 0-byte manifest.sqlite3 was given new, empty tables by `list`, and the error then blamed the vectors."""
    env = _env(tmp_path / "index")
    assert _cli("ingest", str(SEEDS), env=env).returncode == 0
    manifest = tmp_path / "index" / "manifest.sqlite3"
    manifest.write_bytes(b"")
    done = _cli("list", env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"the database {manifest} is empty (0 bytes)" in done.stderr and manifest.stat().st_size == 0


def test_a_store_that_keeps_no_owner_opens_again(tmp_path):
    """owner() and claim() are optional for a store plugin (docs/plugins.md): its index, unclaimed but holding its
    vectors, is no deleted store."""
    from assistant.core import Assistant
    from assistant.index.vectors import ChromaVectorStore, VectorStore
    from assistant.settings import load_settings

    class KeepsNoOwner(ChromaVectorStore):
        owner = VectorStore.owner
        claim = VectorStore.claim

    settings = load_settings(index_dir=tmp_path / "index")
    assert Assistant(settings, store=KeepsNoOwner.from_settings(settings)).ingest([SEEDS]).ok
    again = Assistant(settings, store=KeepsNoOwner.from_settings(settings))
    assert len(again.articles()) == 1 and "Joint Implementation Group" in again.ask("What does JIG stand for?").answer
