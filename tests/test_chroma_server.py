"""ASSISTANT_CHROMA_URL: the same ingest and ask against a real `chroma run` server on 127.0.0.1."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import SEEDS
from servers import free_port

from assistant.core import Assistant
from assistant.settings import load_settings


class ChromaServer:
    """A real `chroma run` on 127.0.0.1; stop() and start() again keep its port and data."""

    def __init__(self, data: Path):
        self.data, self.port = data, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> ChromaServer:
        chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
        self.process = subprocess.Popen(
            [chroma, "run", "--path", str(self.data), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/api/v2/heartbeat", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                pytest.fail("chroma server did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def start_chroma(data: Path) -> ChromaServer:
    return ChromaServer(data).start()


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    server = start_chroma(tmp_path_factory.mktemp("chroma-server"))
    try:
        yield server.url
    finally:
        server.stop()


def test_ingest_and_ask_against_a_chroma_server(chroma_server, tmp_path):
    assistant = Assistant(load_settings(index_dir=tmp_path / "index", chroma_url=chroma_server, collection="server-test"))
    report = assistant.ingest([SEEDS])
    assert report.ok and report.chunks_added > 0
    assert not (tmp_path / "index" / "chroma").exists(), "vectors live on the server, not on local disk"
    assert assistant.index.store.count() == report.chunks_added
    answer = assistant.ask("What does JIG stand for?")
    assert "Joint Implementation Group" in answer.answer and answer.citations
    assert assistant.ask("What is the capital of France?").refused
    # a second client (another app process would do the same) sees the same vectors
    other = Assistant(load_settings(index_dir=tmp_path / "index", chroma_url=chroma_server, collection="server-test"))
    assert other.index.store.count() == report.chunks_added
    assert "Lavrov" in other.ask("Who will Kerry meet on Friday?").answer


def test_two_app_processes_share_one_index_through_the_server(chroma_server, tmp_path):
    """What several app processes behind a load balancer do: one ingests, the other answers from it."""
    index, env = tmp_path / "index", tmp_path / "extra"
    env.mkdir()
    (env / "harbour.txt").write_text(
        "Harbour crane report\n\nThe new harbour crane, named Big Ada, lifted 40 tonnes on its first day in March.\n"
    )
    settings = load_settings(index_dir=index, chroma_url=chroma_server, collection="shared-test")
    serving = Assistant(settings)
    serving.ingest([SEEDS])
    assert "Joint Implementation Group" in serving.ask("What does JIG stand for?").answer
    writer = Assistant(settings)  # a second process: no claim on the index in server mode
    assert writer.ingest([env]).ok
    answer = serving.ask("What was the harbour crane named?")  # dense side finds it at once
    assert "Big Ada" in answer.answer and answer.citations[0].source.endswith("harbour.txt")
    deadline = time.monotonic() + 30  # the keyword side catches up in the background
    while serving.retriever.keyword_index().generation != serving.index.manifest.generation:
        assert time.monotonic() < deadline, "the keyword index was not rebuilt"
        time.sleep(0.1)
    assert any(p.source.endswith("harbour.txt") for p in serving.retrieve("Big Ada crane tonnes"))
