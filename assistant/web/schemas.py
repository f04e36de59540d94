"""Request and response bodies of the HTTP API (they are what /docs documents)."""

from __future__ import annotations

from datetime import date

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..answer import Turn
from ..models import Answer, IngestReport
from ..retrieval import Filters
from .uploads import IngestJob


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
    source: str = Field(description="Where the article came from: for widget keys a file name or link, never a path.")
    url: str | None = Field(None, description="The article's own link, when it has one.")
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
    def of(cls, answer: Answer, *, reader: bool = False) -> AnswerOut:
        return cls.model_validate(answer.public(reader=reader))


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


class JobOut(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    files: int
    done: int = Field(description="Files handled so far.")
    status_url: str
    report: IngestReportOut | None = Field(None, description="When done.")
    error: str | None = Field(None, description="When failed: why (nothing was written).")

    @classmethod
    def of(cls, job: IngestJob) -> JobOut:
        return cls(
            id=job.id, status=job.status, files=job.files, done=job.done, status_url=f"/api/jobs/{job.id}",
            report=IngestReportOut.of(job.report, job.names) if job.report else None, error=job.error,
        )


class Removed(BaseModel):
    removed: str


class ErrorOut(BaseModel):
    error: str
