"""Feedback on answers, and its export as `assistant eval` questions.

A thumbs-up answer becomes a regression case: its cited passages are the gold. A thumbs-down one is marked
``"review"``: the answer was judged wrong, so until a person writes the right one in ``answers`` it asks the
assistant not to give that answer (``"answerable": false``). A thumbs-down on a refusal says the articles do
hold the answer, but nobody has said what it is yet: it cannot be a case until someone does, so the export
leaves it out and counts it (``assistant feedback list`` shows it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePath

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .. import errors
from ..models import Turn, display_source
from ..settings import Settings
from ..text import strip_controls, without_bidi_overrides
from .conversations import ConversationStore, _aware, new_id, now, storable, writes
from .records import Feedback, Rating, answer_from_record, answer_record
from .tables import AnswerRow, FeedbackRow


def feedback_of(row: FeedbackRow) -> Feedback:
    return Feedback(
        id=row.id, answer_id=row.answer_id, rating=row.rating, comment=row.comment, question=row.question,
        standalone_question=row.standalone_question, history=[Turn(**t) for t in row.history],
        answer=answer_from_record(row.answer, row.answer_id), settings=row.settings,
        created_at=_aware(row.created_at), updated_at=_aware(row.updated_at),
    )


class FeedbackStore:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings, conversations: ConversationStore):
        self.sessions = sessions
        self.max_comment = settings.feedback_max_comment_chars
        self.conversations = conversations

    def give(self, owner: str, answer_id: str, rating: Rating, comment: str | None = None) -> Feedback:
        """Record (or change) this owner's rating of one of its answers; ``comment`` None keeps the earlier one."""
        if rating not in ("up", "down"):
            raise errors.InvalidRequest("rating", f'must be "up" or "down", not {rating!r}')
        if comment is not None and len(comment) > self.max_comment:
            raise errors.InvalidRequest(
                "comment", f"is {len(comment):,} characters; the limit is {self.max_comment:,} (feedback_max_comment_chars)"
            )
        answered = self.conversations.answer(owner, answer_id)  # AnswerNotFound for unknown or someone else's
        # Its lines (and joiners: "👨‍👩‍👧") stay; controls and bidi overrides that would act on a screen later go.
        comment = storable(without_bidi_overrides(strip_controls(comment))) if comment is not None else None
        with writes("the feedback"):
            return self._give(owner, answered, rating, comment)

    def _give(self, owner: str, answered, rating: Rating, comment: str | None) -> Feedback:
        moment = now()
        with self.sessions.begin() as session:
            row = session.scalar(select(FeedbackRow).where(FeedbackRow.answer_id == answered.id,
                                                           FeedbackRow.owner == owner))
            if row is None:
                asked = session.get(AnswerRow, answered.id)
                row = FeedbackRow(
                    id=new_id(), answer_id=answered.id, owner=owner, comment="", question=answered.question,
                    standalone_question=answered.standalone_question,
                    history=[t.model_dump() for t in answered.history], answer=answer_record(answered.answer),
                    settings=asked.settings if asked is not None else {}, created_at=moment,  # as when it answered
                )
                session.add(row)
            row.rating = rating
            if comment is not None:
                row.comment = comment.strip()
            row.updated_at = moment
            session.flush()
            return feedback_of(row)

    def ratings(self, owner: str, answer_ids: list[str]) -> dict[str, Rating]:
        """This owner's rating of each of these answers that it rated (to show the thumbs as they were left)."""
        with self.sessions() as session:
            rows = session.execute(select(FeedbackRow.answer_id, FeedbackRow.rating).where(
                FeedbackRow.owner == owner, FeedbackRow.answer_id.in_(answer_ids)))
            return {answer_id: rating for answer_id, rating in rows}

    def all(self, rating: Rating | None = None) -> list[Feedback]:
        """Every feedback record, oldest first."""
        with self.sessions() as session:
            query = select(FeedbackRow).order_by(FeedbackRow.created_at)
            if rating:
                query = query.where(FeedbackRow.rating == rating)
            return [feedback_of(row) for row in session.scalars(query)]


@dataclass(frozen=True)
class Export:
    written: int
    regression: int
    review: int
    left_out: list[Feedback]  # thumbs-down refusals: no gold answer yet


def eval_line(feedback: Feedback) -> dict | None:
    """The `assistant eval` question (JSONL record) a feedback record becomes, or None (a thumbs-down refusal)."""
    answer = feedback.answer
    question = feedback.standalone_question or feedback.question  # eval asks without the history
    first = answer.citations[0] if answer.citations else None
    article = None
    if first is not None and not first.source.startswith(("http://", "https://")):
        article = PurePath(display_source(first.source).removeprefix("upload:")).name
    line = {"id": f"feedback-{feedback.id[:12]}", "question": question}
    if feedback.rating == "up":
        if answer.refused:
            line.update(answers=[], answerable=False)  # a refusal that was right
        else:
            gold = list(dict.fromkeys(c.quote for c in answer.citations)) or [answer.answer]
            line.update(answers=gold, answerable=True, article=article)
    else:
        if answer.refused:
            return None
        line.update(answers=[], answerable=False, article=article, review="thumbs-down", rejected_answer=answer.answer)
    if feedback.comment:
        line["comment"] = feedback.comment
    if feedback.history:
        line["asked_as"] = feedback.question  # the follow-up as the user typed it
    return line


def export_questions(feedback: list[Feedback], out: Path) -> Export:
    lines, left_out = [], []
    for record in feedback:
        line = eval_line(record)
        (left_out.append(record) if line is None else lines.append(line))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    review = sum(1 for line in lines if "review" in line)
    return Export(written=len(lines), regression=len(lines) - review, review=review, left_out=left_out)
