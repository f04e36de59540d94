"""The manifest and the store in SQL: migrations (SQLite in place, PostgreSQL fresh and concurrent) and the
writer lock replicas share, against a real PostgreSQL server started here on 127.0.0.1."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from conftest import SEEDS
from servers import CLI, ServeProcess

from assistant import database, errors
from assistant.core import Assistant
from assistant.index.manifest import Manifest
from assistant.index.writer_lock import ADVISORY_KEY, DatabaseLock
from assistant.settings import load_settings
from bench.backing_servers import PostgresServer

HEADS = {"manifest_0004", "store_0004"}


@pytest.fixture(scope="module")
def postgres():
    with PostgresServer() as server:
        yield server


def _versions(url: str) -> set[str]:
    with sa.create_engine(url).connect() as db:
        return set(db.scalars(sa.text("SELECT version_num FROM alembic_version")))


def _as_before_migrations(index, files=("manifest.sqlite3", "conversations.sqlite3")) -> None:
    """What an index written before migrations looked like: the same tables, no version table, no commit records."""
    for name in files:
        with sqlite3.connect(index / name) as db:
            db.execute("DROP TABLE alembic_version")
            db.execute("DROP TABLE IF EXISTS commits")
            db.execute("DROP TABLE IF EXISTS collections")
            db.execute("DROP TABLE IF EXISTS memberships")
            db.execute("DROP TABLE IF EXISTS feeds")


def test_a_server_opening_an_old_index_logs_that_it_brought_it_forward(tmp_path):
    old = Assistant(load_settings(index_dir=tmp_path / "index"))
    old.ingest([SEEDS])
    _as_before_migrations(tmp_path / "index", ["manifest.sqlite3"])
    with ServeProcess(tmp_path, {}) as server:
        pass
    said = server.log()
    line = f"assistant.database: brought the manifest of sqlite:///{tmp_path / 'index' / 'manifest.sqlite3'} forward"
    assert f"{line}, in place: (before migrations) → manifest_0004" in said, said
    assert said.count("brought the") == 1 and "Traceback" not in said  # once, through one handler


def test_a_server_whose_store_cannot_be_opened_says_why_in_one_line_and_exits_1(tmp_path):
    old = Assistant(load_settings(index_dir=tmp_path / "index"))
    old.ingest([SEEDS])
    assert old.store.jobs
    with sqlite3.connect(tmp_path / "index" / "conversations.sqlite3") as db:  # its tables, but no record of them
        db.execute("DROP TABLE alembic_version")
    ended = ServeProcess(tmp_path, {}).run_to_exit(timeout=180)
    assert ended.returncode == 1, (ended.returncode, ended.stderr)  # not 134: no model loading while it exits
    assert "error: cannot open the database sqlite:///" in ended.stderr and "terminate called" not in ended.stderr


def test_an_index_from_before_migrations_is_brought_forward_in_place(tmp_path, caplog):
    index = tmp_path / "index"
    settings = load_settings(index_dir=index)
    assistant = Assistant(settings)
    assistant.ingest([SEEDS])
    question = "What does JIG stand for?"
    before = assistant.ask(question).public()
    kept = assistant.store.conversations.add_answer("page:a", question, assistant.ask(question), conversation_id="new")
    _as_before_migrations(index)
    database._migrated.clear()  # as a new process would

    with caplog.at_level(logging.INFO, logger="assistant.database"):
        reopened = Assistant(load_settings(index_dir=index))
        assert reopened.ask(question).public() == before
        assert [a.id for a in reopened.articles()] == [a.id for a in assistant.articles()]
        assert reopened.store.conversations.conversation("page:a", kept.conversation_id).answers
    said = [r.getMessage() for r in caplog.records if r.name == "assistant.database"]  # (the store stays open)
    assert said == [f"brought the manifest of sqlite:///{index / 'manifest.sqlite3'} forward, in place: "
                    "(before migrations) → manifest_0004"], said
    with sqlite3.connect(index / "manifest.sqlite3") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "manifest_0004"
        assert db.execute("SELECT COUNT(*) FROM commits").fetchone()[0] == 0  # added, empty: history is not invented
    reopened.remove(reopened.articles()[0].id)
    assert reopened.index.manifest.last_commit()["change"] == "remove"


def _cli_env(index) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    return {**env, "ASSISTANT_INDEX_DIR": str(index), "ASSISTANT_CONFIG": ""}


def _cli(index, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *args], env=_cli_env(index), capture_output=True, text=True, timeout=180)


def test_a_command_that_brings_an_index_forward_says_so_and_a_newer_ones_is_refused(tmp_path):
    index = tmp_path / "index"
    Assistant(load_settings(index_dir=index)).ingest([SEEDS])
    _as_before_migrations(index, ["manifest.sqlite3"])
    # Said, since a process of the older version refuses the index afterwards (feeds list waits for no server).
    listed = _cli(index, "feeds", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr.startswith(f"note: brought the manifest of sqlite:///{index / 'manifest.sqlite3'} forward")
    assert "note:" not in _cli(index, "feeds", "list").stderr  # once
    # A revision this version does not know: a newer one wrote it; nothing is opened, nothing changed.
    with sqlite3.connect(index / "manifest.sqlite3") as db:
        db.execute("UPDATE alembic_version SET version_num = 'manifest_0099' WHERE version_num LIKE 'manifest%'")
    for command in (["list"], ["migrate"]):
        refused = _cli(index, *command)
        assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
        assert "is at revision manifest_0099, which a newer version of article-assistant wrote (this one knows up " \
               "to manifest_0004): run that version or a later one, or restore the backup" in refused.stderr
    assert _versions(f"sqlite:///{index / 'manifest.sqlite3'}") == {"manifest_0099"}


def test_one_postgres_database_holds_both_branches_and_replicas_migrate_it_at_once(postgres):
    url = postgres.create_database("fresh")
    # Four replicas start together on a new database: the advisory lock lets one migrate, the rest find it done.
    opener = (
        "import sys; from assistant.settings import load_settings; from assistant.index.manifest import Manifest; "
        "from assistant.store import open_store; s = load_settings(index_dir='/nonexistent', database_url=sys.argv[1]); "
        "m = Manifest.from_settings(s); open_store(s); print(m.article_count(), m.generation)"
    )
    replicas = [subprocess.Popen([sys.executable, "-c", opener, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for _ in range(4)]
    results = [(p.wait(timeout=120), p.stdout.read().strip(), p.stderr.read()) for p in replicas]
    assert [(code, out) for code, out, _ in results] == [(0, "0 0")] * 4, [err for *_, err in results]
    assert _versions(url) == HEADS
    assert Manifest(url).shared


def test_a_replica_killed_while_writing_never_leaves_the_shared_index_locked(postgres):
    url = postgres.create_database("locks")
    manifest = Manifest(url)
    lock = DatabaseLock(manifest.engine, url)
    with lock.held(timeout=5):
        started = time.monotonic()
        with pytest.raises(errors.IndexBusy, match="another replica is writing"):
            with DatabaseLock(sa.create_engine(url), url).held(timeout=0.6):
                pass
        assert time.monotonic() - started >= 0.6
    # Another process takes the lock and is SIGKILLed holding it: the server ends its session, and the lock.
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time; from assistant.index.manifest import Manifest; "
            "from assistant.index.writer_lock import DatabaseLock; m = Manifest(sys.argv[1]); "
            "ctx = DatabaseLock(m.engine, m.url).held(5); ctx.__enter__(); print('held', flush=True); time.sleep(600)"
        ), url],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(errors.IndexBusy):
            with lock.held(timeout=0.5):
                pass
        holder.kill()
        holder.wait()
        with lock.held(timeout=10):
            pass
    finally:
        holder.kill()


def test_a_writer_whose_lock_was_lost_commits_nothing(postgres):
    """The server drops a session lock with its connection (a restart, a cut): another replica may take it, so
    the writer must not go on to commit beside it."""
    url = postgres.create_database("lost_lock")
    manifest = Manifest(url)
    lock = DatabaseLock(manifest.engine, url)
    with lock.held(timeout=5):
        lock.confirm()  # held: nothing to say
        with sa.create_engine(url).connect() as other:  # as a restart would: the lock's session ends
            other.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                                  "AND objid = :key"), {"key": ADVISORY_KEY})
            other.commit()
        with DatabaseLock(sa.create_engine(url), url).held(timeout=5):  # another writer takes it at once
            with pytest.raises(errors.StoreError, match="the write lock on the shared index was lost"):
                lock.confirm()
    lock.confirm()  # outside a write there is nothing to confirm


def test_a_database_that_cannot_be_reached_is_a_store_error_naming_it_without_the_password():
    url = "postgresql+psycopg://someone:s3cret@127.0.0.1:1/nowhere"
    with pytest.raises(errors.StoreError) as caught:
        Manifest(url)
    assert "127.0.0.1:1" in str(caught.value) and "s3cret" not in str(caught.value)


def test_a_password_in_the_database_urls_query_is_hidden_too(tmp_path):
    reached = "postgresql+psycopg://someone@127.0.0.1:1/nowhere?sslmode=disable&password=TOPSECRET&sslpassword=KEYPW"
    no_driver = "postgresql+nodriver://someone@127.0.0.1:1/nowhere?password=TOPSECRET"
    for url, said in ((reached, "cannot open the database"), (no_driver, "database_url: cannot use")):
        result = subprocess.run([str(CLI), "list"], capture_output=True, text=True, timeout=180, env={
            **_cli_env(tmp_path / "index"), "ASSISTANT_DATABASE_URL": url})
        assert result.returncode == 1 and said in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert "127.0.0.1:1/nowhere?" in result.stderr and "password=***" in result.stderr
        assert "TOPSECRET" not in result.stderr + result.stdout and "KEYPW" not in result.stderr
    assert database.redact("postgresql://h/db?passfile=/home/app/.pgpass&sslmode=require") == \
        "postgresql://h/db?passfile=***&sslmode=require"


def test_assistant_migrate_reports_where_each_part_is_and_its_revision(postgres):
    url = postgres.create_database("migrated")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    result = subprocess.run([str(CLI), "migrate"], env={**env, "ASSISTANT_DATABASE_URL": url},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    where = url.replace("postgresql+psycopg://", "")
    assert f"manifest: postgresql+psycopg://{where} at manifest_0004" in result.stdout
    assert f"store: postgresql+psycopg://{where} at store_0004" in result.stdout
    assert _versions(url) == HEADS
