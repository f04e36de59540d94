"""SQL databases: one engine per URL per process, brought to the newest schema (Alembic) when first opened.

Two kinds of tables, each a branch of the migrations in ``assistant/migrations/``: ``manifest`` (what the
index holds, assistant/index/manifest.py) and ``store`` (conversations and feedback, assistant/store/). With
no ``database_url`` each lives in its own SQLite file in ``index_dir``; with one (PostgreSQL, say), both live
in that database, which is what lets app replicas on several hosts share one index.

An upgrade only ever adds: a database made by an older version (an SQLite index from before migrations
included) is brought forward in place when opened, and nothing in it is lost.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text

from . import errors
from .folders import make_private

log = logging.getLogger("assistant.database")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Replicas starting together must not migrate one database at once: PostgreSQL serialises them on this lock.
MIGRATION_LOCK = 0x61727469  # "arti"

_engines: dict[str, Engine] = {}
_migrated: set[tuple[str, str]] = set()
_lock = threading.Lock()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def engine_for(url: str) -> Engine:
    """The engine for ``url`` (one per process), with SQLite tuned for a server writing while commands read."""
    with _lock:
        if url not in _engines:
            _engines[url] = _create(url)
        return _engines[url]


def _create(url: str) -> Engine:
    if not url.startswith("sqlite"):
        # pre-ping: a database server restarted under a running app costs one failed check, not a failed request
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        make_private(Path(url.removeprefix("sqlite:///")).parent)  # the index folder, as a rule
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # the server writes while `assistant feedback` reads
        cursor.execute("PRAGMA foreign_keys=ON")  # deleting a conversation deletes its answers
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def upgrade(url: str, branch: str) -> Engine:
    """The engine for ``url`` with ``branch`` ("manifest" or "store") at its newest revision (once per process)."""
    try:
        engine = engine_for(url)
    except Exception as exc:  # a dialect whose driver is not installed (mysql://), an option it does not take
        raise errors.ConfigError(f"database_url: cannot use {redact(url)}: {type(exc).__name__}: {exc}") from None
    with _lock:
        if (url, branch) in _migrated:
            return engine
        _refuse_an_emptied_file(url)
        try:
            _run_migrations(engine, branch)
        except errors.AssistantError:
            raise
        except Exception as exc:
            raise errors.StoreError(f"cannot open the database {redact(url)}: {reason(exc)}") from None
        _migrated.add((url, branch))
    return engine


def _refuse_an_emptied_file(url: str) -> None:
    """An SQLite file that exists with no bytes was truncated (SQLite writes its header on creating one): building
    new tables over it would hide that the index's records are gone (its vectors would then look like another
    index's). A missing file is a new index."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        if path.is_file() and path.stat().st_size == 0:
            raise errors.StoreError(f"the database {path} is empty (0 bytes): its records are lost; restore it from a "
                                    "backup (or delete it to start that part of the index anew)")


def revisions(url: str) -> set[str]:
    """The revisions the database at ``url`` is at (after bringing it forward): one head per branch it holds."""
    with engine_for(url).connect() as connection:
        return set(connection.scalars(text("SELECT version_num FROM alembic_version")))


def _run_migrations(engine: Engine, branch: str) -> None:
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def at(connection) -> list[str]:
        return sorted(h for h in MigrationContext.configure(connection).get_current_heads() if h.startswith(branch))

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        before = at(connection)
        _refuse_a_newer_schema(config, before, branch, engine)
        # tables with no alembic_version: an index from before migrations (the other branch's are not this one's)
        tables = inspect(connection).get_table_names()
        existed = bool(before) or ("alembic_version" not in tables and bool(tables))
        config.attributes["connection"] = connection
        command.upgrade(config, f"{branch}@head")
        after = at(connection)
    if existed and after != before:  # a new database is made at its newest revision without a word
        log.info("brought the %s of %s forward, in place: %s → %s", branch,
                 engine.url.render_as_string(hide_password=True), ", ".join(before) or "(before migrations)",
                 ", ".join(after))


def _refuse_a_newer_schema(config, revisions: list[str], branch: str, engine: Engine) -> None:
    """A revision the migrations here do not hold was written by a newer version: this one cannot know what its
    tables mean now (a rollback, or an older replica restarted after an upgrade)."""
    from alembic.script import ScriptDirectory

    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    newer = [revision for revision in revisions if revision not in known]
    if newer:
        ours = max(revision for revision in known if revision.startswith(branch))
        raise errors.StoreError(
            f"the {branch} of {engine.url.render_as_string(hide_password=True)} is at revision {newer[0]}, which a "
            f"newer version of article-assistant wrote (this one knows up to {ours}): run that version or a later "
            "one, or restore the backup taken before the upgrade")


def reason(exc: Exception) -> str:
    """The first line of what the database driver said (SQLAlchemy's own wrapping, and the SQL, left out)."""
    orig = getattr(exc, "orig", None)
    text_ = str(orig if orig is not None else exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__


QUERY_PASSWORD = re.compile(r"([?&][^=&]*pass[^=&]*=)[^&]*", re.IGNORECASE)  # password, sslpassword, passfile


def redact(url: str) -> str:
    """The URL without its password, for messages and logs: the one in ``user:password@`` and the query's
    (``?password=``, ``sslpassword``, ``passfile``: libpq takes them there too)."""
    from sqlalchemy.engine import make_url

    try:
        shown = make_url(url).render_as_string(hide_password=True)
        return QUERY_PASSWORD.sub(r"\1***", shown)
    except Exception:
        return "(unparseable database URL)"
