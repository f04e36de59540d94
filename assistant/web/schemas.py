"""Request and response bodies of the HTTP API that are not values of their own (they are what /docs documents).

Answers, citations, turns and filters are the models in :mod:`assistant.models`, sent as they are.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..models import Article, Filters, IngestReport, Turn, display_source
from ..store import JobRecord

MAX_HISTORY = 50  # turns a request may carry


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(examples=["What does JIG stand for?"])
    history: list[Turn] = Field(
        [], max_length=MAX_HISTORY, description="Earlier exchanges, oldest first, so follow-up questions resolve "
        "(with `conversation_id` and no history: that conversation's last turns)."
    )
    filters: Filters | None = Field(None, description="Restrict retrieval; `filters.collections` picks among the "
                                    "collections the key may use (default: all of them).")
    conversation_id: str | None = Field(
        None, max_length=64, description='Keep the answer in this conversation of yours ("new" starts one; the answer '
        "says which). Absent: the answer is kept alone, for feedback.",
    )


class FailedFile(BaseModel):
    file: str = Field(description="The uploaded file's name.")
    error: str


class IngestReportOut(BaseModel):
    added: list[str] = Field(description="Ids of newly indexed articles.")
    replaced: list[str] = Field(description="Ids of articles whose content changed.")
    unchanged: list[str]
    joined: list[str] = Field(  # a default: jobs recorded before it (kept 7 days) are read back through this
        default_factory=list, description="Unchanged articles put in the collection named, which they were not in yet.")
    failed: list[FailedFile]
    chunks_added: int
    removed: list[str] = Field(  # one shape with the CLI's and MCP's; an upload mirrors no folder, so it is empty
        default_factory=list, description="Articles removed because their file left a folder the ingest mirrors "
        "(`assistant ingest --prune`; never an upload).")
    ok: bool = Field(description="False when any file failed.")

    @classmethod
    def of(cls, report: IngestReport, names: dict[str, str]) -> IngestReportOut:
        """``names`` maps the temporary paths ingested back to the uploaded file names."""
        return cls(
            added=report.added,
            replaced=report.replaced,
            unchanged=report.unchanged,
            joined=report.joined,
            failed=[FailedFile(file=names.get(path, path), error=reason) for path, reason in report.failed],
            chunks_added=report.chunks_added,
            removed=report.removed,
            ok=report.ok,
        )


class JobOut(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    files: int
    done: int = Field(description="Files handled so far.")
    status_url: str
    indexed: list[str] = Field(default_factory=list, description="The files committed to the index so far.")
    report: IngestReportOut | None = Field(None, description="When done.")
    error: str | None = Field(None, description="When failed: why, and which files were indexed before.")

    @classmethod
    def of(cls, job: JobRecord) -> JobOut:
        return cls(
            id=job.id, status=job.status, files=job.files, done=job.done, status_url=f"/api/jobs/{job.id}",
            indexed=list(job.indexed), report=IngestReportOut.model_validate(job.report) if job.report else None,
            error=job.error,
        )


class Removed(BaseModel):
    """What every DELETE answers: the id or name of what went (a conversation; the classes below add to it)."""

    removed: str


class ArticleRemoved(Removed):
    left_collections: list[str] | None = Field(
        None, description="Present when the article stays in the index because a collection outside this request's "
        "holds it too: the collections it was taken out of.",
    )


class CollectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(examples=["sport"], description="1 to 64 letters, digits, '.', '_' or '-'.")


class FeedRemoved(BaseModel):
    removed: int = Field(description="The feed's id; the articles it brought stay.")


class CollectionRemoved(Removed):
    articles_removed: list[str] = Field(description="Articles that were in no other collection: gone from the index.")
    articles_kept: list[str] = Field(description="Articles another collection holds too: they stay there.")


class ErrorOut(BaseModel):
    error: str


class ArticleText(BaseModel):
    """An article as GET /api/articles/{id} sends it: citations' `start`/`end` are offsets into `text`."""

    id: str
    title: str
    source: str = Field(description="For widget keys a file name or link, never a server path.")
    url: str | None = None
    published: str | None = None
    text: str = Field(description="The whole cleaned article text.")

    @classmethod
    def of(cls, article: Article, *, reader: bool) -> ArticleText:
        return cls(id=article.id, title=article.title, source=display_source(article.source) if reader else article.source,
                   url=article.url, published=article.published, text=article.text)


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer_id: str = Field(max_length=64, description="The `id` of an answer this key was given (POST /api/ask).")
    rating: Literal["up", "down"]
    comment: str | None = Field(None, description="Optional; at most feedback_max_comment_chars characters.")


class FeedbackOut(BaseModel):
    """What the sender of feedback gets back (a widget key may send feedback, not read it)."""

    id: str
    answer_id: str
    rating: Literal["up", "down"]
