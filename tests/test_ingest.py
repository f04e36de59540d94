"""Ingest into a real Chroma index: idempotence, replacement, removal, and failures that lose nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import SEED_ARTICLE, SEEDS
from typer.testing import CliRunner

from assistant import errors
from assistant.cli import app


def _snapshot(assistant):
    """Everything a reader can see: articles with their chunk counts, and the vectors."""
    return (
        [(a.id, a.chunks) for a in assistant.articles()],
        sorted(assistant.index.manifest.all_chunk_ids()),
        sorted(assistant.index.store.ids()),
    )


def test_reingesting_an_unchanged_file_adds_nothing(make_assistant):
    assistant = make_assistant()
    first = assistant.ingest([SEEDS])
    assert len(first.added) == 1 and first.chunks_added > 0
    before = _snapshot(assistant)
    second = assistant.ingest([SEEDS])
    assert second.added == [] and second.unchanged == first.added and second.chunks_added == 0
    assert _snapshot(assistant) == before


def test_progress_names_each_file_before_it_is_read_and_ends_when_all_are_written(make_assistant, tmp_path):
    """A big PDF takes minutes to read: the bar names it from the start, not after; and N of N means written."""
    files = [tmp_path / "first.txt", tmp_path / "second.txt"]
    files[0].write_text("The first\n\nThe harbour opened a ferry line to Saltmarsh in May.\n")
    files[1].write_text("The second\n\nThe library reopened after repairs in June.\n")
    assistant = make_assistant()
    calls = []
    assistant.ingest(files, on_progress=lambda done, total, path: calls.append(
        (done, total, os.path.basename(path), len(assistant.index.manifest.all_chunk_ids()))))
    assert [call[:3] for call in calls] == [(0, 2, "first.txt"), (1, 2, "second.txt"), (2, 2, "second.txt")]
    assert calls[-1][3] > 0  # the last call comes after the write


def test_one_path_as_a_string_is_one_path_not_its_characters(make_assistant, tmp_path, monkeypatch):
    (tmp_path / "private.txt").write_text("Private\n\nNot for the index.\n")
    (tmp_path / "x.txt").write_text("Harbour\n\nThe ferry leaves at noon.\n")
    monkeypatch.chdir(tmp_path)  # "." among the characters of "x.txt" was the working directory
    assistant = make_assistant()
    report = assistant.ingest("x.txt")
    assert report.ok and len(report.added) == 1 and not report.failed
    assert [a.title for a in assistant.articles()] == ["Harbour"]


def test_changed_file_replaces_its_old_chunks(make_assistant, tmp_path):
    assistant = make_assistant()
    path = tmp_path / "story.txt"
    path.write_text("Old headline\n\nThe bridge was painted green in 1990.\n")
    assistant.ingest([path])
    assert assistant.ask("What colour was the bridge painted?").citations
    path.write_text("New headline\n\nThe bridge was painted red in 2021 after a long debate.\n")
    report = assistant.ingest([path])
    assert len(report.replaced) == 1
    (info,) = assistant.articles()
    assert info.title == "New headline"
    texts = [c.text for c in assistant.index.manifest.all_chunks()]
    assert not any("green" in t for t in texts)
    assert assistant.index.store.ids() == assistant.index.manifest.all_chunk_ids(), "no stale vectors remain"
    answer = assistant.ask("What colour was the bridge painted?")
    assert "red" in answer.answer and "green" not in answer.answer


def test_remove_article(make_assistant):
    assistant = make_assistant()
    assistant.ingest([SEEDS])
    (info,) = assistant.articles()
    assistant.remove(info.id)
    assert assistant.articles() == [] and assistant.index.store.count() == 0
    with pytest.raises(errors.ArticleNotFound):
        assistant.remove(info.id)


def test_prune_mirrors_a_folder_and_leaves_everything_else(make_assistant, tmp_path):
    assistant = make_assistant()
    shelf, other = tmp_path / "shelf", tmp_path / "other"
    (shelf / "2025").mkdir(parents=True)
    other.mkdir()
    (shelf / "bridge.txt").write_text("Bridge\n\nThe bridge was painted red in 2021.\n")
    (shelf / "2025" / "ferry.md").write_text("# Ferry\n\nThe ferry leaves at noon.\n")
    (other / "tram.txt").write_text("Tram\n\nThe tram line opened in 1902.\n")
    assistant.ingest([shelf, other])
    (shelf / "2025" / "ferry.md").rename(shelf / "ferry-moved.md")  # moved: the old path's article goes
    (shelf / "bridge.txt").unlink()
    (other / "tram.txt").unlink()  # not a folder this ingest mirrors: its article stays

    report = assistant.ingest([shelf], prune=True)

    titles = {a.title for a in assistant.articles()}
    assert titles == {"Ferry", "Tram"} and len(report.removed) == 2 and len(report.added) == 1
    assert report.counts() == "added 1, replaced 0, unchanged 0, failed 0, removed 2"
    assert assistant.index.store.ids() == assistant.index.manifest.all_chunk_ids(), "no stale vectors remain"
    assert not assistant.ask("What colour was the bridge painted?").citations
    assert assistant.ingest([shelf], prune=True).removed == []  # nothing more to remove


def test_prune_leaves_a_folder_that_looks_unmounted_and_needs_a_folder(make_assistant, tmp_path):
    assistant = make_assistant()
    shelf = tmp_path / "shelf"
    (shelf / "disk2").mkdir(parents=True)
    (shelf / "bridge.txt").write_text("Bridge\n\nThe bridge was painted red in 2021.\n")
    (shelf / "disk2" / "ferry.txt").write_text("Ferry\n\nThe ferry leaves at noon.\n")
    assistant.ingest([shelf])
    for file in (shelf / "bridge.txt", shelf / "disk2" / "ferry.txt"):
        file.unlink()  # empty folders, as an unmounted disk's mount point is

    # a shell glob that matched nothing is a path given, not a file found in the folder
    report = assistant.ingest([shelf, shelf / "*.txt", shelf / "disk2"], prune=True)

    assert report.removed == [] and {a.title for a in assistant.articles()} == {"Bridge", "Ferry"}
    failed = dict(report.failed)
    assert failed[str(shelf)].startswith("a folder with no ") and failed[str(shelf)].endswith(
        "; prune removed nothing under it")
    assert failed[str(shelf / "disk2")].endswith("; prune removed nothing under it")
    assert failed[str(shelf / "*.txt")] == "no such file or folder"
    # a folder given inside a mirrored one keeps its articles when it is empty; the rest of the parent is mirrored
    (shelf / "tram.txt").write_text("Tram\n\nThe tram line opened in 1902.\n")
    report = assistant.ingest([shelf, shelf / "disk2"], prune=True)
    assert len(report.removed) == 1 and len(report.added) == 1
    assert [path for path, _ in report.failed] == [str(shelf / "disk2")]
    assert {a.title for a in assistant.articles()} == {"Ferry", "Tram"}

    with pytest.raises(errors.InvalidRequest, match="^prune: none of the paths is a folder"):
        assistant.ingest([SEED_ARTICLE], prune=True)
    with pytest.raises(errors.InvalidRequest, match=f"^prune: {tmp_path / 'shelf-typo'}: no such folder"):
        assistant.ingest([tmp_path / "shelf-typo"], prune=True)


def test_prune_keeps_files_that_are_there_though_a_folder_walk_skips_them(make_assistant, tmp_path):
    assistant = make_assistant()
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    (shelf / "bridge.txt").write_text("Bridge\n\nThe bridge was painted red in 2021.\n")
    (shelf / ".draft.md").write_text("# Draft\n\nThe draft says the ferry sails in July.\n")
    assistant.ingest([shelf, shelf / ".draft.md"])  # a hidden file, named on purpose
    assert assistant.ingest([shelf], prune=True).removed == []
    assert {a.title for a in assistant.articles()} == {"Bridge", "Draft"}
    both = assistant.ingest([shelf, shelf / "bridge.txt"])  # a folder and a file in it: the file is read once
    assert both.counts() == "added 0, replaced 0, unchanged 1, failed 0"


def test_sync_reads_each_file_again_and_keeps_the_article_of_one_gone(make_assistant, tmp_path):
    assistant = make_assistant()
    bridge, ferry = tmp_path / "bridge.txt", tmp_path / "a" / "ferry.txt"
    ferry.parent.mkdir()
    bridge.write_text("Bridge\n\nThe bridge was painted green in 1990.\n")
    ferry.write_text("Ferry\n\nThe ferry leaves at noon.\n")
    assistant.ingest([bridge, ferry])
    assert assistant.sync().counts() == "added 0, replaced 0, unchanged 2, failed 0"
    bridge.write_text("Bridge\n\nThe bridge was painted red in 2021.\n")
    ferry_id = next(a.id for a in assistant.articles() if a.title == "Ferry")
    ferry.unlink()

    report = assistant.sync()

    assert len(report.replaced) == 1 and report.failed == [(str(ferry), (
        f"no longer there (moved or deleted): `assistant remove {ferry_id}`, or `assistant ingest --prune` its folder"))]
    assert "red" in assistant.ask("What colour was the bridge painted?").answer
    assert {a.title for a in assistant.articles()} == {"Bridge", "Ferry"}  # a file gone keeps its old copy


def test_bad_files_fail_alone_and_leave_the_index_unchanged(make_assistant, tmp_path):
    assistant = make_assistant()
    assistant.ingest([SEEDS])
    before = _snapshot(assistant)
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "empty.txt").write_bytes(b"")
    (batch / "binary.txt").write_bytes(bytes(range(256)) * 50)
    (batch / "legacy.txt").write_bytes("Le café de José ouvre à Zürich en 1921.\n".encode("latin-1"))
    (batch / "gone.txt").symlink_to(tmp_path / "nowhere.txt")  # a folder's unreadable entries fail by name too
    os.mkfifo(batch / "pipe.md")
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "notes.docx").write_bytes(b"PK")
    report = assistant.ingest([batch, tmp_path / "missing.txt", tmp_path / "nothing"])
    failed = {path.split("/")[-1]: reason for path, reason in report.failed}
    assert set(failed) == {"empty.txt", "binary.txt", "missing.txt", "gone.txt", "pipe.md", "nothing"}
    assert failed["gone.txt"] == "no such file or folder" and failed["pipe.md"] == "not a regular file"
    assert failed["nothing"].startswith("a folder with no .htm, .html, .markdown, .md, .pdf")
    assert len(report.added) == 1
    after = _snapshot(assistant)
    assert set(before[0]) <= set(after[0]) and len(after[0]) == len(before[0]) + 1
    legacy = next(a for a in assistant.articles() if a.title.startswith("Le café"))
    assert "Zürich" in assistant.article(legacy.id).text


def test_cli_ingest_reports_each_bad_file_and_exits_nonzero(tmp_path):
    index = tmp_path / "index"
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(SEED_ARTICLE, good / SEED_ARTICLE.name)
    (tmp_path / "empty.txt").write_bytes(b"")
    runner = CliRunner()
    env = {"ASSISTANT_INDEX_DIR": str(index)}
    result = runner.invoke(app, ["ingest", str(good), str(tmp_path / "empty.txt"), str(tmp_path / "nope.md")], env=env)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("failed:")]
    assert len(lines) == 2
    assert any("empty.txt" in line and "empty" in line for line in lines)
    assert any("nope.md" in line and "no such file" in line for line in lines)
    listed = runner.invoke(app, ["list", "--json"], env=env)
    assert listed.exit_code == 0
    assert [a["title"] for a in json.loads(listed.stdout)] == ["Kerry in Moscow 'seeking joint bombing campaign in Syria'"]


def test_cli_ingest_of_a_link_that_cannot_be_split_is_a_one_line_error(tmp_path):
    env = {"ASSISTANT_INDEX_DIR": str(tmp_path / "index"), "ASSISTANT_CONFIG": "", "COLUMNS": "1000"}
    done = CliRunner().invoke(app, ["ingest", "http://[oops/"], env=env)
    assert done.exit_code == 1 and isinstance(done.exception, SystemExit), repr(done.exception)  # no ValueError
    assert "'http://[oops/' is not a link" in done.output and "Traceback" not in done.output, done.output


def test_a_path_too_long_fails_alone_and_the_other_files_land(make_assistant, tmp_path):
    """A name over the file system's limit made is_dir() raise ENAMETOOLONG, which stopped the whole batch."""
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    (shelf / "bridge.txt").write_text("Bridge\n\nThe bridge was painted red in 2021.\n")
    too_long = str(shelf / ("y" * 300 + ".txt"))  # in a folder that is there: ENAMETOOLONG, not ENOENT
    report = make_assistant().ingest([too_long, shelf], prune=True)
    assert report.failed == [(too_long, "the file name is too long")] and len(report.added) == 1
    env = {"ASSISTANT_INDEX_DIR": str(tmp_path / "cli-index"), "ASSISTANT_CONFIG": "", "COLUMNS": "1000"}
    done = CliRunner().invoke(app, ["ingest", str(shelf), too_long], env=env)
    assert done.exit_code == 1 and f"failed: {too_long}: the file name is too long" in done.output, done.output
    assert "error:" not in done.output and "added 1" in done.output, done.output


def test_cli_ingest_prune_says_what_it_removed(tmp_path):
    shelf, env = tmp_path / "shelf", {"ASSISTANT_INDEX_DIR": str(tmp_path / "index"), "ASSISTANT_CONFIG": ""}
    shelf.mkdir()
    (shelf / "bridge.txt").write_text("Bridge\n\nThe bridge was painted red in 2021.\n")
    (shelf / "ferry.txt").write_text("Ferry\n\nThe ferry leaves at noon.\n")
    assert CliRunner().invoke(app, ["ingest", str(shelf)], env=env).exit_code == 0
    (shelf / "bridge.txt").unlink()
    pruned = CliRunner().invoke(app, ["ingest", "--prune", str(shelf)], env=env)
    assert pruned.exit_code == 0 and "unchanged 1, failed 0, removed 1 " in pruned.output
    assert "removed: bridge-" in pruned.output  # which one: a removal is not undone
    listed = CliRunner().invoke(app, ["list"], env=env)
    assert "Ferry" in listed.output and "Bridge" not in listed.output
    refused = CliRunner().invoke(app, ["ingest", "--prune", str(shelf / "ferry.txt")], env=env)
    assert refused.exit_code == 1 and "prune: none of the paths is a folder" in refused.output


def test_a_folder_that_cannot_be_listed_fails_by_name_and_prune_keeps_its_articles(tmp_path):
    """Without the right to list a subfolder (root is made an ordinary user for the command: without
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH), its files are neither skipped in silence nor pruned."""
    shelf, env = tmp_path / "shelf", {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
                                      "ASSISTANT_CONFIG": "", "COLUMNS": "200"}
    (shelf / "locked").mkdir(parents=True)
    (shelf / "bridge.txt").write_text("Bridge\n\nThe bridge was painted red in 2021.\n")
    (shelf / "locked" / "ferry.txt").write_text("Ferry\n\nThe ferry leaves at noon.\n")
    command = [sys.executable, "-m", "assistant.cli", "ingest", "--prune", str(shelf)]
    assert subprocess.run(command, env=env, capture_output=True, timeout=300).returncode == 0
    (shelf / "locked").chmod(0)
    (shelf / "lost+found").mkdir(mode=0o700)  # a disk's own, root's alone: skipped, not a failure
    (shelf / "lost+found").chmod(0)
    if os.geteuid() == 0:
        command = [shutil.which("setpriv"), "--bounding-set=-dac_override,-dac_read_search", *command]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    finally:
        (shelf / "locked").chmod(0o755)
    said = done.stdout + done.stderr
    assert done.returncode == 1 and f"failed: {shelf / 'locked'}: the folder cannot be read" in said, said
    assert "lost+found" not in said and "failed 1" in said, said
    assert "removed 0" not in said and "removed:" not in said, said
    listed = subprocess.run([sys.executable, "-m", "assistant.cli", "list", "--json"], env=env, capture_output=True,
                            text=True, timeout=300)
    assert {a["title"] for a in json.loads(listed.stdout)} == {"Bridge", "Ferry"}


def test_cli_ingest_saves_the_keyword_index_for_the_next_process(tmp_path, make_assistant):
    index = tmp_path / "index"
    result = CliRunner().invoke(app, ["ingest", str(SEED_ARTICLE)], env={"ASSISTANT_INDEX_DIR": str(index)})
    assert result.exit_code == 0, result.output
    assistant = make_assistant()  # the same index folder, as the next process would open it
    generation = assistant.index.manifest.generation
    assert (index / "keyword" / f"gen-{generation}" / "chunks.json").exists()
    again = CliRunner().invoke(app, ["ingest", str(SEED_ARTICLE)], env={"ASSISTANT_INDEX_DIR": str(index)})
    assert again.exit_code == 0 and "unchanged 1" in again.output  # nothing changed: nothing rebuilt
    assert sorted(p.name for p in (index / "keyword").iterdir()) == [f"gen-{generation}"]


def test_a_keyword_index_saved_by_an_older_tokeniser_is_rebuilt(tmp_path, make_assistant):
    """An index saved before accents were folded would keep "Beyoncé" apart from a question's "Beyonce"."""
    from assistant.index.keyword import CHUNKS_FILE, TOKENS

    article = tmp_path / "singer.md"
    article.write_text("# Singer\n\nBeyoncé sang the closing song at the Harbour festival in 2003.\n")
    index = tmp_path / "index"
    result = CliRunner().invoke(app, ["ingest", str(article)], env={"ASSISTANT_INDEX_DIR": str(index)})
    assert result.exit_code == 0, result.output
    [saved] = (index / "keyword").iterdir()
    rows = json.loads((saved / CHUNKS_FILE).read_text())
    assert rows.pop("tokens") == TOKENS
    (saved / CHUNKS_FILE).write_text(json.dumps(rows))  # as the older release wrote it
    assistant = make_assistant()
    assert assistant.retriever.keyword_index().search("beyonce harbour", 5)  # rebuilt, accents folded
    assert json.loads((saved / CHUNKS_FILE).read_text())["tokens"] == TOKENS  # and saved again in its place


def test_a_keyword_index_that_cannot_be_saved_serves_from_memory(tmp_path, make_assistant, monkeypatch):
    """A read-only index folder holding an older release's copy: rebuilt in memory every start, never an error."""
    import errno

    from assistant.index import keyword
    from assistant.index.keyword import CHUNKS_FILE

    article = tmp_path / "singer.md"
    article.write_text("# Singer\n\nBeyoncé sang the closing song at the Harbour festival in 2003.\n")
    result = CliRunner().invoke(app, ["ingest", str(article)], env={"ASSISTANT_INDEX_DIR": str(tmp_path / "index")})
    assert result.exit_code == 0, result.output
    [saved] = (tmp_path / "index" / "keyword").iterdir()
    rows = json.loads((saved / CHUNKS_FILE).read_text())
    del rows["tokens"]
    (saved / CHUNKS_FILE).write_text(json.dumps(rows))

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(keyword.tempfile, "mkdtemp", read_only)  # the disk, at the boundary: root ignores modes
    assistant = make_assistant()
    assert assistant.retriever.keyword_index().search("beyonce harbour", 5)
    assert "tokens" not in json.loads((saved / CHUNKS_FILE).read_text())  # left as it was, not removed
    assert "Beyoncé" in assistant.ask("Who sang the closing song at the Harbour festival?").answer


def test_index_refuses_another_embedder(make_assistant):
    assistant = make_assistant()
    assistant.ingest([SEEDS])
    assistant.index.manifest.set_meta("embedder", "some-other-model")
    with pytest.raises(errors.EmbedderMismatch, match="some-other-model"):
        make_assistant()
