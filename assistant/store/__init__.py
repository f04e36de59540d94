"""Conversations, the answers given in them, and feedback on those answers: SQL through SQLAlchemy.

By default one SQLite file beside the index (``conversations.sqlite3`` in ``index_dir``); ``database_url`` points
it at any database SQLAlchemy speaks (PostgreSQL for several replicas). Everything is keyed by an *owner*: the
browser session of the chat page, or the API key (and the site, for widget keys) that asked. A caller only ever
sees its own: another owner's conversation or answer is "not found", never "forbidden", so ids leak nothing.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import sessionmaker

from ..settings import Settings
from .conversations import ConversationStore
from .feedback import FeedbackStore
from .records import Conversation, ConversationInfo, Feedback, StoredAnswer
from .tables import Base

DB_FILE = "conversations.sqlite3"

__all__ = ["Store", "open_store", "Conversation", "ConversationInfo", "Feedback", "StoredAnswer"]


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return f"sqlite:///{Path(settings.index_dir).resolve() / DB_FILE}"


def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # the server writes while `assistant feedback` reads
            cursor.execute("PRAGMA foreign_keys=ON")  # deleting a conversation deletes its answers
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


class Store:
    """The conversations and the feedback of one database."""

    def __init__(self, url: str, settings: Settings):
        self.url = url
        self.engine = _engine(url)
        Base.metadata.create_all(self.engine)
        sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.conversations = ConversationStore(sessions, settings)
        self.feedback = FeedbackStore(sessions, settings, self.conversations)

    def close(self) -> None:
        self.engine.dispose()


_open: dict[str, Store] = {}
_open_lock = threading.Lock()


def open_store(settings: Settings) -> Store:
    """The store for these settings (one per database per process)."""
    url = database_url(settings)
    with _open_lock:
        if url not in _open:
            _open[url] = Store(url, settings)
        return _open[url]
