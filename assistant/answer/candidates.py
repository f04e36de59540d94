"""A candidate sentence of the retrieved passages, as the extractive backend reads and ranks it."""

from __future__ import annotations

from dataclasses import dataclass

from .subject_names import Renamed


@dataclass
class Candidate:
    passage: int  # index into passages
    start: int
    end: int
    text: str
    reading_text: str  # what the reader reads (a bare date line says what it is; the subject named as asked)
    context_stems: frozenset[str]  # stems of this sentence + the one before + the title
    answerability: float = 0.0  # the reader's: its best span's score minus its no-answer score
    score: float = 0.0  # what the answer is chosen by: the answerability less the passage's rank penalty
    span: tuple[int, int] | None = None  # the reader's answer span in ``text`` (None: none, or not of ``text``)
    renamed: Renamed | None = None  # how ``reading_text`` renames ``text``'s words (None: it says other words)

    def read_as(self, span: tuple[int, int] | None) -> None:
        """Keep the reader's span of ``reading_text`` as ``text``'s characters."""
        self.span = self.renamed.span_in_sentence(span) if span is not None and self.renamed is not None else None
