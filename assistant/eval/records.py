"""The plain values an evaluation run passes around: questions in, per-question results out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    id: str
    question: str
    answers: tuple[str, ...]  # gold strings; any one counts
    article: str | None  # file name of the article holding the answer, when known
    answerable: bool


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
    refusal_reason: str | None = None  # the backend's why (extractive: support, terms, kind, predicate)
    error: str | None = None  # the message, when answering raised an AssistantError
    notice: str | None = None  # e.g. an LLM backend fell back to the extractive answer
    citations: list[dict] = field(default_factory=list)  # Citation.model_dump() + passage
    retrieved: list[dict] = field(default_factory=list)  # rank, chunk_id, article_id, source, score, text
    # Dense cosine of the top retrieved passage: the score plotted against the refusal threshold.
    top_passage_score: float | None = None
    # The backend's own support score, when it reports one: what refusal_threshold is applied to.
    support: float | None = None
    latency_ms: float = 0.0
    outcome: dict = field(default_factory=dict)  # per-metric values, see metrics.question_outcome

    @property
    def answered(self) -> bool:
        return not self.refused and self.error is None

    def to_json(self) -> dict:
        return asdict(self)
