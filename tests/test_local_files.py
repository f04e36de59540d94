"""What the assistant writes on the machine is not for the machine's other users: real folders, real modes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile

import pytest
from conftest import SEED_ARTICLE

from assistant.core import Assistant
from assistant.settings import load_settings
from assistant.web import uploads


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_upload_area_is_private_and_never_a_folder_someone_made_first(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    planted = tmp_path / f"assistant-uploads-{os.getpid()}"  # the name it had: anyone could create it first
    planted.mkdir()
    planted.chmod(0o777)
    area = uploads.use_upload_area()
    try:
        assert area.parent == tmp_path and area.name.startswith(f"assistant-uploads-{os.getpid()}-")
        assert area != planted and planted.is_dir()  # left alone: neither used nor swept (its process runs)
        assert mode(area) == 0o700 and area.stat().st_uid == os.geteuid()
        assert os.environ["GRADIO_TEMP_DIR"] == str(area / "page") and (area / "page").is_dir()
        assert uploads.new_upload_folder().parent == area
    finally:
        uploads.release_upload_area()
    assert not area.exists()
    again = uploads.use_upload_area()  # a later app in this process: a new folder, not the removed one's name
    try:
        assert again != area and mode(again) == 0o700 and os.environ["GRADIO_TEMP_DIR"] == str(again / "page")
    finally:
        uploads.release_upload_area()


def test_the_upload_folders_of_dead_processes_are_swept_and_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    left = tmp_path / f"assistant-uploads-{pid}-k3j9x1"
    (left / "upload-1").mkdir(parents=True)
    (left / "upload-1" / "a.txt").write_text("left by a killed server")
    older = tmp_path / f"assistant-uploads-{pid}"  # the name an older version used
    older.mkdir()
    live = tmp_path / f"assistant-uploads-{os.getpid()}-q8w2e4"
    live.mkdir()
    planted = tmp_path / f"assistant-uploads-{pid}-link"  # a link is never followed
    planted.symlink_to(live)
    assert sorted(uploads.sweep(tmp_path)) == sorted([left, older])
    assert not left.exists() and not older.exists() and live.is_dir() and planted.is_symlink()


@pytest.fixture
def umask_022():
    old = os.umask(0o022)  # the usual default, under which a plain mkdir is readable by everyone
    yield
    os.umask(old)


def test_a_new_index_folder_and_its_databases_are_for_the_assistants_user_alone(tmp_path, umask_022):
    index_dir = tmp_path / "data" / "index"
    assistant = Assistant(load_settings(index_dir=index_dir))
    assert assistant.ingest([SEED_ARTICLE]).ok
    assert assistant.store  # opens conversations.sqlite3, where visitors' questions and feedback go
    assert {"manifest.sqlite3", "conversations.sqlite3", "chroma"} <= {p.name for p in index_dir.iterdir()}
    assert mode(index_dir) == 0o700 and mode(index_dir.parent) == 0o700  # both made by the assistant
    assert mode(index_dir / "chroma") == 0o700


def test_an_index_folder_the_operator_made_keeps_its_mode(tmp_path, umask_022):
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    index_dir.chmod(0o750)  # say, for a backup group
    assert Assistant(load_settings(index_dir=index_dir)).ingest([SEED_ARTICLE]).ok
    assert mode(index_dir) == 0o750
