"""What the store gives back: one shape per value, sent as they are by the API and printed by the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from ..models import Answer, Citation, Turn

Rating = Literal["up", "down"]


class StoredAnswer(BaseModel):
    """One answer as it was given: the question, the history it was asked with, the answer and its citations."""

    id: str
    conversation_id: str | None = None
    question: str
    standalone_question: str | None = None
    history: list[Turn] = []
    answer: Answer
    created_at: datetime

    def turn(self) -> Turn:
        return Turn(question=self.question, answer=self.answer.answer)

    def citation(self, n: int) -> Citation | None:
        return next((c for c in self.answer.citations if c.n == n), None)


class ConversationInfo(BaseModel):
    id: str
    title: str = Field(description="The conversation's first question.")
    answers: int
    created_at: datetime
    updated_at: datetime


class Conversation(ConversationInfo):
    turns: list[StoredAnswer] = Field(description="Every question and answer, oldest first.")


class Feedback(BaseModel):
    """A thumbs up or down on an answer, with what the answer was given for (question, history, settings)."""

    id: str
    answer_id: str
    rating: Rating
    comment: str = ""
    question: str
    standalone_question: str | None = None
    history: list[Turn] = []
    answer: Answer
    settings: dict = {}
    created_at: datetime
    updated_at: datetime


def answer_record(answer: Answer) -> dict:
    """The answer as stored: its public shape, plus each citation's passage fields (the page shows them again)."""
    record = answer.model_dump(mode="json", exclude_none=True, exclude={"id", "conversation_id"})
    record["citations"] = [
        {**c.model_dump(mode="json", exclude_none=True), "passage": c.passage, "passage_start": c.passage_start,
         "highlight_start": c.highlight_start, "highlight_end": c.highlight_end}
        for c in answer.citations
    ]
    return record


def answer_from_record(record: dict, answer_id: str, conversation_id: str | None = None) -> Answer:
    citations = [Citation(**{k: v for k, v in c.items() if k != "phrase"}) for c in record.get("citations", [])]
    return Answer(**{**record, "citations": citations, "id": answer_id, "conversation_id": conversation_id})
