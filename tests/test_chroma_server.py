"""ASSISTANT_CHROMA_URL: the same ingest and ask against a real `chroma run` server on 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import SEEDS

from assistant import errors
from assistant.core import Assistant
from assistant.settings import load_settings
from bench.backing_servers import ChromaServer


def start_chroma(data: Path) -> ChromaServer:
    return ChromaServer(data).start()


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    server = start_chroma(tmp_path_factory.mktemp("chroma-server"))
    try:
        yield server.url
    finally:
        server.stop()
        server.cleanup()


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


def test_an_index_folder_of_its_own_cannot_take_over_another_indexs_collection(chroma_server, tmp_path):
    """Replicas on several hosts share an index through ASSISTANT_DATABASE_URL; without it, a second index folder
    pointed at the same collection would sweep the first one's vectors as leftovers: it is refused instead."""
    first = Assistant(load_settings(index_dir=tmp_path / "one", chroma_url=chroma_server, collection="owned-test"))
    first.ingest([SEEDS])
    vectors = first.index.store.count()
    with pytest.raises(errors.StoreError, match="holds the vectors of another index.*ASSISTANT_DATABASE_URL"):
        Assistant(load_settings(index_dir=tmp_path / "two", chroma_url=chroma_server, collection="owned-test"))
    assert first.index.store.count() == vectors
    assert "Joint Implementation Group" in first.ask("What does JIG stand for?").answer
