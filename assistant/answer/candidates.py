"""A candidate sentence of the retrieved passages, as the extractive backend ranks it and the refusal decision reads
it (its own module, so that neither of those imports the other)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Candidate:
    passage: int  # index into passages
    start: int
    end: int
    text: str
    scoring_text: str
    context_stems: frozenset[str]  # stems of this sentence + the one before + the title
    previous: str  # the sentence before it in the article ("" for the first)
    stems: frozenset[str]
    signals: dict[str, float] = field(default_factory=dict)
    kind_ok: bool = True
    score: float = 0.0
