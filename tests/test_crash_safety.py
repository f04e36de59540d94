"""Killing an ingest midway (SIGKILL) loses nothing and corrupts nothing; a rerun completes it."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS

from assistant.core import Assistant
from assistant.settings import load_settings

WORDS = ("harbour river council bridge festival museum archive railway orchard vineyard lighthouse market "
         "mayor engineer painter farmer ferry tunnel canal quarry glacier meadow").split()


def _write_corpus(folder: Path, n: int) -> None:
    rng = random.Random(7)
    folder.mkdir()
    for i in range(n):
        paragraphs = [
            " ".join(f"The {rng.choice(WORDS)} of town {i} saw {rng.randint(2, 999)} visitors in {1900 + j}." for _ in range(4))
            for j in range(6)
        ]
        (folder / f"town-{i:03d}.txt").write_text(f"Town {i} report\n\n" + "\n\n".join(paragraphs))


def _articles_in_manifest(index: Path) -> int:
    try:
        with sqlite3.connect(index / "manifest.sqlite3", timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_an_ingest_killed_or_stopped_midway_leaves_the_index_answering_as_before(tmp_path, stop):
    index = tmp_path / "index"
    settings = load_settings(index_dir=index)
    before = Assistant(settings)
    before.ingest([SEEDS])
    questions = ["What does JIG stand for?", "Who will Kerry meet on Friday?", "What is the capital of France?"]
    answers_before = [before.ask(q).public() for q in questions]
    del before

    corpus = tmp_path / "corpus"
    _write_corpus(corpus, 150)
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index)}
    cli = str(Path(sys.executable).parent / "assistant")
    ingest = subprocess.Popen([cli, "ingest", str(corpus)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while _articles_in_manifest(index) < 10:  # the seed article plus some committed batches
        assert ingest.poll() is None, "ingest finished before it could be killed; make the corpus bigger"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ingest.send_signal(stop)
    said = ingest.communicate(timeout=120)[1]
    if stop == signal.SIGKILL:
        assert ingest.returncode == -signal.SIGKILL
    else:  # as a service manager or a CI timeout stops it: it says what stays, and exits as killed by it would
        assert ingest.returncode == 128 + signal.SIGTERM and "Traceback" not in said, said
        assert "interrupted: the files committed before the stop stay in the index" in said, said

    after = Assistant(settings)
    partial = len(after.articles())
    assert 1 < partial < 151, "the kill landed mid-ingest"
    assert [after.ask(q).public() for q in questions] == answers_before
    assert after.index.manifest.all_chunk_ids() <= after.index.store.ids()

    report = after.ingest([corpus])
    assert report.ok and len(report.unchanged) == partial - 1 and len(report.added) == 151 - partial
    assert len(after.articles()) == 151
    assert after.index.store.ids() == after.index.manifest.all_chunk_ids(), "no duplicate or orphaned vectors"
    assert [after.ask(q).public() for q in questions] == answers_before


def test_two_ingests_at_once_are_serialised(tmp_path):
    index = tmp_path / "index"
    corpus = tmp_path / "corpus"
    _write_corpus(corpus, 12)
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index)}
    cli = str(Path(sys.executable).parent / "assistant")
    runs = [subprocess.Popen([cli, "ingest", str(corpus)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
    assistant = Assistant(load_settings(index_dir=index))
    assert len(assistant.articles()) == 12
    assert assistant.index.store.ids() == assistant.index.manifest.all_chunk_ids()
