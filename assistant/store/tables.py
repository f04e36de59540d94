"""The tables of conversations, answers, feedback and upload jobs (SQLAlchemy 2.x, portable types: SQLite or PostgreSQL).

An answer row keeps everything a feedback record or a resumed conversation needs: the question as asked,
the standalone question it became, the history it was asked with, the answer and its citations (with the
passage they sit in, so the page can show them again), and the settings that produced it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class ConversationRow(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200), index=True)  # a browser session, or a key (and site)
    title: Mapped[str] = mapped_column(String(200))  # the first question
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    answers: Mapped[list[AnswerRow]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan", passive_deletes=True, order_by="AnswerRow.position"
    )


class AnswerRow(Base):
    __tablename__ = "answers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # None for an answer asked outside a conversation (one POST /api/ask); kept for feedback until it expires.
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True, nullable=True
    )
    owner: Mapped[str] = mapped_column(String(200), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    question: Mapped[str] = mapped_column(Text)
    standalone_question: Mapped[str | None] = mapped_column(Text, nullable=True)
    history: Mapped[list] = mapped_column(JSON)  # [{"question", "answer"}]
    filters: Mapped[dict] = mapped_column(JSON)
    answer: Mapped[dict] = mapped_column(JSON)  # Answer.public() plus each citation's passage fields
    settings: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    conversation: Mapped[ConversationRow | None] = relationship(back_populates="answers")


class FeedbackRow(Base):
    __tablename__ = "feedback"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Not a foreign key: feedback outlives the conversation it was given in (it is what eval cases come from).
    answer_id: Mapped[str] = mapped_column(String(32), index=True)
    owner: Mapped[str] = mapped_column(String(200))
    rating: Mapped[str] = mapped_column(String(8))  # "up" or "down"
    comment: Mapped[str] = mapped_column(Text, default="")
    question: Mapped[str] = mapped_column(Text)
    standalone_question: Mapped[str | None] = mapped_column(Text, nullable=True)
    history: Mapped[list] = mapped_column(JSON)
    answer: Mapped[dict] = mapped_column(JSON)
    settings: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    files: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    indexed: Mapped[list | None] = mapped_column(JSON, nullable=True)  # names of the files committed so far
    collection: Mapped[str | None] = mapped_column(String(64), nullable=True)  # where it adds (None: default)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_status: Mapped[int] = mapped_column(Integer, default=500)
    replica: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SignOutRow(Base):
    """A chat-page admin sign-in that was signed out: its cookie is refused until it would have expired anyway."""

    __tablename__ = "sign_outs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
