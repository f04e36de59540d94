"""The plain values an evaluation run passes around: questions in, per-question results out.

A question is a factoid question (scored against gold strings) or, with ``task == "summary"``, a request for an
overview of one article (scored by ROUGE against the article's highlights, see ``summary_metrics``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..models import Turn

FACTOID = "factoid"
SUMMARY = "summary"
TASKS = (FACTOID, SUMMARY)


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    id: str
    question: str
    answers: tuple[str, ...]  # gold strings; any one counts
    article: str | None  # file name of the article holding the answer, when known
    answerable: bool
    task: str = FACTOID
    highlights: tuple[str, ...] = ()  # summary lines: the reference bullet points
    scope: str | None = None  # file name of the article to ask with selected (Filters.article_ids), when given
    history: tuple[Turn, ...] = ()  # the conversation's earlier turns, oldest first: the question is a follow-up
    line: int | None = field(default=None, compare=False)  # where it sits in its file, for error messages

    @property
    def is_summary(self) -> bool:
        return self.task == SUMMARY


@dataclass(slots=True)
class QuestionResult:
    """One question's run: what was asked, retrieved, answered and cited, and how it scored.

    Everything here is JSON-plain so a line of results.jsonl round-trips.
    """

    id: str
    question: str
    gold: list[str]
    article: str | None
    answerable: bool
    answer: str = ""
    refused: bool = False
    refusal_reason: str | None = None  # the backend's why (extractive: answerability)
    error: str | None = None  # the message, when answering raised an AssistantError
    notice: str | None = None  # e.g. an LLM backend fell back to the extractive answer
    citations: list[dict] = field(default_factory=list)  # Citation.model_dump() + passage
    retrieved: list[dict] = field(default_factory=list)  # rank, chunk_id, article_id, source, score, text
    # Dense cosine of the top retrieved passage: the score plotted against the refusal threshold.
    top_passage_score: float | None = None
    # The backend's own support score, when it reports one: what answerability_threshold is applied to.
    support: float | None = None
    latency_ms: float = 0.0
    outcome: dict = field(default_factory=dict)  # per-metric values, see metrics / summary_metrics
    task: str = FACTOID
    highlights: list[str] = field(default_factory=list)  # summary lines: the reference the overview is scored on
    scope: str | None = None  # summary lines: the file name the question was asked with selected
    history: list[dict] = field(default_factory=list)  # the earlier turns the question followed, as given
    # summary lines: id of the article the overview is about (the scope's, else the line's ``article``'s)
    target_article_id: str | None = None

    @property
    def answered(self) -> bool:
        return not self.refused and self.error is None

    @property
    def is_summary(self) -> bool:
        return self.task == SUMMARY

    def to_json(self) -> dict:
        return asdict(self)
