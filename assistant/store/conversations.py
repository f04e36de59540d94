"""Conversations and the answers given in them, each kept for its owner only, for ``conversation_days``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from .. import errors
from ..models import Answer, Filters, Turn
from ..settings import Settings
from ..text import clean_line
from .records import Conversation, ConversationInfo, StoredAnswer, answer_from_record, answer_record
from .tables import AnswerRow, ConversationRow

TITLE_CHARS = 80
PURGE_EVERY_S = 600  # expired conversations are swept at most this often (on a write)

# The settings that shape an answer, kept with it (never keys, paths or addresses).
ANSWER_SETTINGS = (
    "backend", "embedder", "top_k", "hybrid", "rrf_k", "answerability_threshold", "reader_sentences",
    "reader_stop_score", "rank_penalty",
    "answer_max_words", "chunk_tokens", "chunk_overlap_tokens", "openai_model",
    "llm_temperature", "llm_max_tokens", "local_max_passages",
)


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


def storable(text: str) -> str:
    """Text any database takes: no NUL (PostgreSQL refuses it), no lone surrogates (not UTF-8)."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8") if text else text


@contextmanager
def writes(what: str) -> Iterator[None]:
    """A database that cannot be written (full disk, read-only, gone) is a StoreError, never a traceback."""
    try:
        yield
    except OperationalError as exc:
        reason = str(exc.orig) if exc.orig is not None else str(exc)
        error = errors.DiskFull if "full" in reason.lower() else errors.StoreError
        raise error(f"could not keep {what}: {reason}") from None


def title_of(question: str) -> str:
    line = " ".join(question.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def stored_answer(row: AnswerRow) -> StoredAnswer:
    return StoredAnswer(
        id=row.id, conversation_id=row.conversation_id, question=row.question,
        standalone_question=row.standalone_question, history=[Turn(**t) for t in row.history],
        answer=answer_from_record(row.answer, row.id, row.conversation_id), created_at=_aware(row.created_at),
    )


class ConversationStore:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings):
        self.sessions = sessions
        self.settings = settings
        self.keep = timedelta(days=settings.conversation_days) if settings.conversation_days else None
        self._purged = 0.0

    # --- answers ------------------------------------------------------------------------
    def add_answer(
        self, owner: str, question: str, answer: Answer, *, history: list[Turn] | tuple[Turn, ...] = (),
        filters: Filters | None = None, conversation_id: str | None = None, settings: dict | None = None,
    ) -> StoredAnswer:
        """Keep an answer (in a new conversation titled by its question when ``conversation_id`` is "new")."""
        # Questions are kept as answered: one clean line (no escapes or controls to replay on a screen later).
        question = clean_line(question) or storable(question)
        history = [Turn(question=clean_line(t.question) or storable(t.question), answer=storable(t.answer))
                   for t in history]
        with writes("the answer"):
            self.purge_expired()
            return self._add_answer(owner, question, answer, history, filters, conversation_id, settings)

    def _add_answer(self, owner, question, answer, history, filters, conversation_id, settings) -> StoredAnswer:
        moment = now()
        with self.sessions.begin() as session:
            conversation = None
            if conversation_id == "new":
                conversation = ConversationRow(id=new_id(), owner=owner, title=title_of(question),
                                               created_at=moment, updated_at=moment)
                session.add(conversation)
            elif conversation_id is not None:
                conversation = self._owned(session, owner, conversation_id)
                conversation.updated_at = moment
            position = 0
            if conversation is not None and conversation_id != "new":
                position = session.scalar(
                    select(func.count()).select_from(AnswerRow).where(AnswerRow.conversation_id == conversation.id)
                ) or 0
            row = AnswerRow(
                id=new_id(), conversation_id=conversation.id if conversation else None, owner=owner,
                position=position, question=question, standalone_question=answer.question,
                history=[t.model_dump() for t in history],
                filters=(filters or Filters()).model_dump(mode="json", exclude_defaults=True),
                answer=answer_record(answer), settings=settings or self.answer_settings(), created_at=moment,
            )
            session.add(row)
            session.flush()
            return stored_answer(row)

    def answer(self, owner: str, answer_id: str) -> StoredAnswer:
        with self.sessions() as session:
            row = session.get(AnswerRow, answer_id) if isinstance(answer_id, str) else None
            if row is None or row.owner != owner or self._expired(row.created_at, row.conversation):
                raise errors.AnswerNotFound(answer_id)
            return stored_answer(row)

    def cited(self, site: str, article_id: str, recent: int = 2000) -> bool:
        """Was ``article_id`` cited in one of the ``recent`` latest answers kept for ``site`` (an owner, or a
        widget key's site: every visitor of it)? What a widget key may read is what it was cited."""
        pattern = site.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "#%"
        with self.sessions() as session:
            answers = session.scalars(
                select(AnswerRow.answer).where((AnswerRow.owner == site) | AnswerRow.owner.like(pattern, escape="\\"))
                .order_by(AnswerRow.created_at.desc()).limit(recent)
            )
            return any(c.get("article_id") == article_id for a in answers for c in (a or {}).get("citations", []))

    def answer_settings(self) -> dict:
        return {name: getattr(self.settings, name) for name in ANSWER_SETTINGS}

    # --- conversations ------------------------------------------------------------------
    def conversations(self, owner: str, limit: int = 100) -> list[ConversationInfo]:
        """This owner's conversations, most recently used first."""
        with self.sessions() as session:
            counts = (select(AnswerRow.conversation_id, func.count().label("n"))
                      .group_by(AnswerRow.conversation_id).subquery())
            query = (
                select(ConversationRow, counts.c.n)
                .join(counts, counts.c.conversation_id == ConversationRow.id, isouter=True)
                .where(ConversationRow.owner == owner)
                .order_by(ConversationRow.updated_at.desc()).limit(limit)
            )
            if self.keep:
                query = query.where(ConversationRow.updated_at >= now() - self.keep)
            return [
                ConversationInfo(id=row.id, title=row.title, answers=n or 0, created_at=_aware(row.created_at),
                                 updated_at=_aware(row.updated_at))
                for row, n in session.execute(query)
            ]

    def conversation(self, owner: str, conversation_id: str) -> Conversation:
        with self.sessions() as session:
            row = self._owned(session, owner, conversation_id)
            return Conversation(
                id=row.id, title=row.title, answers=len(row.answers), created_at=_aware(row.created_at),
                updated_at=_aware(row.updated_at), turns=[stored_answer(a) for a in row.answers],
            )

    def delete(self, owner: str, conversation_id: str) -> None:
        with writes("the deletion"), self.sessions.begin() as session:
            session.delete(self._owned(session, owner, conversation_id))

    def _owned(self, session: Session, owner: str, conversation_id: str) -> ConversationRow:
        row = session.get(ConversationRow, conversation_id) if isinstance(conversation_id, str) else None
        if row is None or row.owner != owner or self._expired(row.updated_at):
            raise errors.ConversationNotFound(conversation_id)
        return row

    # --- retention ----------------------------------------------------------------------
    def _expired(self, moment: datetime, conversation: ConversationRow | None = None) -> bool:
        if self.keep is None:
            return False
        used = conversation.updated_at if conversation is not None else moment
        return _aware(used) < now() - self.keep

    def purge_expired(self, force: bool = False) -> int:
        """Delete conversations unused for ``conversation_days``, and lone answers as old (feedback stays)."""
        if self.keep is None or (not force and time.monotonic() - self._purged < PURGE_EVERY_S):
            return 0
        self._purged = time.monotonic()
        cutoff = now() - self.keep
        with self.sessions.begin() as session:
            gone = session.execute(delete(ConversationRow).where(ConversationRow.updated_at < cutoff)).rowcount
            session.execute(delete(AnswerRow).where(AnswerRow.conversation_id.is_(None), AnswerRow.created_at < cutoff))
        return gone or 0
