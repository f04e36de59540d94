"""Request and response bodies of the HTTP API (they are what /docs documents)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from ..answer import Turn
from ..models import Answer, IngestReport
from ..retrieval import Filters


class TurnIn(BaseModel):
    question: str
    answer: str


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    article_ids: list[str] = Field([], description="Only these articles (ids from GET /api/articles).")
    sources: list[str] = Field([], description="Only articles from these sources.")
    published_from: date | None = Field(None, description="Published on or after this day (YYYY-MM-DD).")
    published_to: date | None = Field(None, description="Published on or before this day (YYYY-MM-DD).")

    def to_filters(self) -> Filters:
        return Filters(
            article_ids=tuple(self.article_ids),
            sources=tuple(self.sources),
            published_from=self.published_from.isoformat() if self.published_from else None,
            published_to=self.published_to.isoformat() if self.published_to else None,
        )


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(examples=["What does JIG stand for?"])
    history: list[TurnIn] = Field(
        [], max_length=50, description="Earlier exchanges, oldest first, so follow-up questions resolve."
    )
    filters: FiltersIn | None = None

    def history_turns(self) -> list[Turn]:
        return [Turn(t.question, t.answer) for t in self.history]

    def to_filters(self) -> Filters | None:
        return self.filters.to_filters() if self.filters else None


class CitationOut(BaseModel):
    n: int = Field(description="The [n] marker in the answer.")
    article_id: str
    title: str
    source: str
    quote: str = Field(description="The cited sentence(s), verbatim from the article.")
    start: int = Field(description="Character offset of the quote in the stored article text.")
    end: int
    score: float


class AnswerOut(BaseModel):
    answer: str
    citations: list[CitationOut]
    refused: bool = Field(description="True when the articles do not hold the answer.")
    notice: str | None = Field(None, description="Present when something degraded, e.g. the LLM was unreachable.")

    @classmethod
    def of(cls, answer: Answer) -> AnswerOut:
        return cls.model_validate(answer.public())


class FailedFile(BaseModel):
    file: str = Field(description="The uploaded file's name.")
    error: str


class IngestReportOut(BaseModel):
    added: list[str] = Field(description="Ids of newly indexed articles.")
    replaced: list[str] = Field(description="Ids of articles whose content changed.")
    unchanged: list[str]
    failed: list[FailedFile]
    chunks_added: int
    ok: bool = Field(description="False when any file failed.")

    @classmethod
    def of(cls, report: IngestReport, names: dict[str, str]) -> IngestReportOut:
        """``names`` maps the temporary paths ingested back to the uploaded file names."""
        return cls(
            added=report.added,
            replaced=report.replaced,
            unchanged=report.unchanged,
            failed=[FailedFile(file=names.get(path, path), error=reason) for path, reason in report.failed],
            chunks_added=report.chunks_added,
            ok=report.ok,
        )


class Removed(BaseModel):
    removed: str


class ErrorOut(BaseModel):
    error: str
