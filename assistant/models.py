"""The plain typed values that flow between stages (see DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath

from pydantic import BaseModel


@dataclass(frozen=True, slots=True)
class Article:
    """A cleaned article. ``text`` is what chunks and citations point into."""

    id: str
    title: str
    text: str
    source: str
    url: str | None = None
    published: str | None = None
    content_hash: str = ""


@dataclass(frozen=True, slots=True)
class Chunk:
    id: str
    article_id: str
    text: str
    start: int  # character offsets into Article.text
    end: int


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk with its article's metadata, ranked and scored."""

    chunk: Chunk
    title: str
    source: str
    score: float  # dense cosine similarity of the chunk to the question, 0..1
    rank: int
    article_text: str = field(default="", repr=False)
    published: str | None = None
    url: str | None = None


class Citation(BaseModel):
    n: int
    article_id: str
    title: str
    source: str
    quote: str  # the cited sentence(s), verbatim from the article
    start: int  # span of the quote in the article text
    end: int
    score: float
    url: str | None = None  # the article's own link, when it has one
    passage: str = ""  # the whole passage the quote sits in, for context
    passage_start: int = 0
    # span of the answering phrase inside the quote, when the answerer found one
    highlight_start: int | None = None
    highlight_end: int | None = None

    @classmethod
    def quoting(
        cls, n: int, passage: Passage, start: int, end: int, score: float, highlight: tuple[int, int] | None = None
    ) -> "Citation":
        """Cite the article text ``[start, end)`` inside ``passage``."""
        return cls(
            n=n,
            article_id=passage.chunk.article_id,
            title=passage.title,
            source=passage.source,
            quote=passage.article_text[start:end],
            start=start,
            end=end,
            score=round(score, 4),
            url=passage.url,
            passage=passage.chunk.text,
            passage_start=passage.chunk.start,
            highlight_start=highlight[0] if highlight else None,
            highlight_end=highlight[1] if highlight else None,
        )


class Answer(BaseModel):
    answer: str
    citations: list[Citation] = []
    refused: bool = False
    notice: str | None = None  # e.g. "the LLM was unreachable; extractive answer shown"
    # How well the best sentence matches the question (the score the refusal threshold applies to);
    # internal: evaluation plots it, the public JSON leaves it out.
    support: float | None = None

    def public(self, *, reader: bool = False) -> dict:
        """The documented JSON shape of `assistant ask --json` and the API.

        ``reader``: for callers outside the server's trust (widget keys, the chat page), whose
        citations name their source by file name or link, never by a path on the server.
        """
        return {
            "answer": self.answer,
            "citations": [
                {
                    "n": c.n,
                    "article_id": c.article_id,
                    "title": c.title,
                    "source": display_source(c.source) if reader else c.source,
                    **({"url": c.url} if c.url else {}),
                    "quote": c.quote,
                    "start": c.start,
                    "end": c.end,
                    "score": round(c.score, 4),
                }
                for c in self.citations
            ],
            "refused": self.refused,
            **({"notice": self.notice} if self.notice else {}),
        }


def display_source(source: str) -> str:
    """A source as readers may see it: uploads and links as they are, server files by their name only."""
    if source.startswith(("upload:", "http://", "https://")):
        return source
    return PurePath(source).name


@dataclass(frozen=True, slots=True)
class ArticleInfo:
    """What `assistant list` shows of an indexed article."""

    id: str
    title: str
    source: str
    url: str | None
    published: str | None
    chunks: int
    chars: int
    ingested_at: str


@dataclass(slots=True)
class IngestReport:
    added: list[str] = field(default_factory=list)  # article ids newly indexed
    replaced: list[str] = field(default_factory=list)  # changed content, old chunks replaced
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, message)
    chunks_added: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed
