"""The other names an article gives its subject, so that a sentence using one reads as the question names it.

An encyclopedia article names its subject once in its opening sentence, then often by another name: "Genghis Khan
(born Temüjin; …)", later "Temüjin married Börte". The reader sees one sentence at a time, so asked about Genghis
Khan's wife it cannot tell that Temüjin is him (it scored that sentence −3.1 and the opening sentence, answer
"Temüjin", 4.8). When the question names the subject one way and a sentence another, the reader reads the sentence
with the question's name in place of the other; the quote and its citation stay the article's own words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..text import split_sentences

# The opening sentence's other names: "(born Temüjin; …", "(née Bouvier)", ", commonly known as Tito,". A name ends
# where the phrase does ("known as Buckingham House, the …"): "known as the Islamic world" names no other subject.
_NAME = r"[A-Z][\w'’.-]*(?:\s+(?:of\s+|the\s+)?[A-Z][\w'’.-]*){0,3}(?=\s*[,;:()]|\.?$)"
_OTHER_NAME = re.compile(rf"\((?:born|née|nee)\s+(?P<born>{_NAME})|\b(?:known|called)\s+as\s+(?P<known>{_NAME})"
                         rf"|\b(?:usually|commonly|often|also)\s+called\s+(?P<called>{_NAME})")


@lru_cache(maxsize=512)
def subject_names(article_id: str, text: str, title: str) -> tuple[str, ...]:
    """The article's names for its subject, longest first: its title and the other names its opening sentence (the
    first after the title) gives."""
    lines = [line for line in text.split("\n", 8) if line.strip() and line.strip("# ").strip() != title.strip()]
    spans = split_sentences(lines[0]) if lines else []
    opening = lines[0][spans[0][0] : spans[0][1]] if spans else ""
    names = {title.strip()} | {name.strip(" .") for match in _OTHER_NAME.finditer(opening)
                               for name in match.groupdict().values() if name}
    return tuple(sorted((n for n in names if n), key=len, reverse=True))


@dataclass(frozen=True)
class Renamed:
    """A sentence as the reader reads it, and where each name put in differs from the sentence's."""

    text: str
    swaps: tuple[tuple[int, int, int, int], ...] = ()  # (start, end) in the sentence, (start, end) in ``text``

    def span_in_sentence(self, span: tuple[int, int]) -> tuple[int, int]:
        """A span of ``text`` as the sentence's characters (a span inside a put-in name covers the name replaced)."""
        return self._back(span[0], start=True), self._back(span[1], start=False)

    def _back(self, at: int, start: bool) -> int:
        shift = 0  # how much longer the sentence is than ``text`` up to ``at``
        for old_start, old_end, new_start, new_end in self.swaps:
            if at <= new_start:
                break
            if at < new_end:
                return old_start if start else old_end
            shift = old_end - new_end
        return at + shift


def as_asked(sentence: str, question: str, names: tuple[str, ...]) -> Renamed:
    """``sentence`` with the subject's other names replaced by the one ``question`` uses, when it uses one the
    sentence does not."""
    found = _named_in(question, names)
    if found is None or found[1].search(sentence):
        return Renamed(sentence)
    asked, _, others = found
    swaps, longer = [], 0  # how much longer the renamed text is so far
    for match in others.finditer(sentence):
        swaps.append((match.start(), match.end(), match.start() + longer, match.start() + longer + len(asked)))
        longer += len(asked) - (match.end() - match.start())
    return Renamed(others.sub(lambda _: asked, sentence), tuple(swaps)) if swaps else Renamed(sentence)


@lru_cache(maxsize=512)
def _named_in(question: str, names: tuple[str, ...]) -> tuple[str, re.Pattern, re.Pattern] | None:
    """The subject's name the question uses, as a pattern, and the subject's other names as one (once per question
    and article, not per sentence); None when it uses none, or the subject has no other."""
    asked = next((n for n in names if _any_of((n,)).search(question)), None)
    others = tuple(n for n in names if n != asked)
    return (asked, _any_of((asked,)), _any_of(others)) if asked is not None and others else None


def _any_of(names: tuple[str, ...]) -> re.Pattern:
    """Any of ``names`` as whole words, in any case (compiled once: ``re`` keeps the patterns it compiled)."""
    return re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b", re.I)
