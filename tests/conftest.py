"""Fixtures build real things: a real Chroma index in a temp dir, the real embedder, real servers."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

# Tests never read the developer's own settings file or index.
os.environ["ASSISTANT_CONFIG"] = ""  # empty: no settings file
for key in list(os.environ):
    if key.startswith("ASSISTANT_") and key != "ASSISTANT_CONFIG":
        del os.environ[key]

from assistant.core import Assistant  # noqa: E402
from assistant.settings import load_settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_ARTICLE = next(SEEDS.glob("*.txt"))
EVALDATA = ROOT.parent / "shared" / "evaldata"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def make_assistant(tmp_path):
    """A fresh assistant over an empty index in this test's temp dir."""

    def make(**overrides) -> Assistant:
        return Assistant(load_settings(index_dir=tmp_path / "index", **overrides))

    return make


@pytest.fixture
def assistant_over(make_assistant, tmp_path):
    """A fresh assistant whose index holds just these articles, given as {file name: text}."""

    def make(articles: dict[str, str], **overrides) -> Assistant:
        folder = tmp_path / "articles"
        folder.mkdir(exist_ok=True)
        for name, text in articles.items():
            (folder / name).write_text(text)
        assistant = make_assistant(**overrides)
        assert assistant.ingest([folder]).ok
        return assistant

    return make


@pytest.fixture(scope="session")
def seeded_assistant(tmp_path_factory) -> Assistant:
    """One assistant over the shipped seed article, shared by read-only tests."""
    assistant = Assistant(load_settings(index_dir=tmp_path_factory.mktemp("seeded") / "index"))
    report = assistant.ingest([SEEDS])
    assert report.ok and report.added
    return assistant


@pytest.fixture(scope="session")
def seed_questions() -> list[dict]:
    path = EVALDATA / "seed" / "questions.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def small_disk(tmp_path):
    """A 48 MiB tmpfs for an index (real ENOSPC), unmounted after."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.system(f"mount -t tmpfs -o size=48m tmpfs {mount} 2>/dev/null") != 0:
        pytest.fail("mounting a tmpfs needs root; the test suite runs as root here and in CI")
    yield mount
    os.system(f"umount -l {mount}")


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Debian's chromium is not installed; `make test` installs it")
    return path
