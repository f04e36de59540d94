"""Conversations, the answers given in them, feedback on those answers, upload jobs and sign-outs: SQL through
SQLAlchemy.

By default one SQLite file beside the index (``conversations.sqlite3`` in ``index_dir``); ``database_url`` points
it at any database SQLAlchemy speaks (PostgreSQL for several replicas), where the index manifest lives too.
The schema is kept by the ``store`` branch of assistant/migrations/. Everything is keyed by an *owner*: the
browser session of the chat page, or the API key (and the site, for widget keys) that asked. A caller only ever
sees its own: another owner's conversation or answer is "not found", never "forbidden", so ids leak nothing.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from .. import database
from ..settings import Settings
from .conversations import ConversationStore
from .feedback import FeedbackStore
from .jobs import JobRecord, JobStore
from .records import Conversation, ConversationInfo, Feedback, StoredAnswer
from .sign_outs import SignOutStore

DB_FILE = "conversations.sqlite3"

__all__ = ["Store", "open_store", "Conversation", "ConversationInfo", "Feedback", "JobRecord", "StoredAnswer"]


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return database.sqlite_url(Path(settings.index_dir) / DB_FILE)


class Store:
    """The conversations and the feedback of one database."""

    def __init__(self, url: str, settings: Settings):
        self.url = url
        self.engine = database.upgrade(url, "store")
        sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.conversations = ConversationStore(sessions, settings)
        self.feedback = FeedbackStore(sessions, settings, self.conversations)
        self.jobs = JobStore(sessions)
        self.sign_outs = SignOutStore(sessions)


_open: dict[str, Store] = {}
_open_lock = threading.Lock()


def open_store(settings: Settings) -> Store:
    """The store for these settings (one per database per process)."""
    url = database_url(settings)
    with _open_lock:
        if url not in _open:
            _open[url] = Store(url, settings)
        return _open[url]
