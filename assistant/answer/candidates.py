"""A candidate sentence of the retrieved passages, as the extractive backend reads and ranks it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Candidate:
    passage: int  # index into passages
    start: int
    end: int
    text: str
    reading_text: str  # what the reader reads (a bare date line says what it is)
    context_stems: frozenset[str]  # stems of this sentence + the one before + the title
    answerability: float = 0.0  # the reader's: its best span's score minus its no-answer score
    score: float = 0.0  # what the answer is chosen by: the answerability less the passage's rank penalty
    span: tuple[int, int] | None = None  # the reader's answer span in ``reading_text``
