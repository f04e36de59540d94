"""Condense stage: a follow-up question + history → a standalone question.

Deterministic: a follow-up that uses a pronoun and names nobody gets the pronoun
replaced by the most recent name mentioned in the conversation's questions
("Who will he meet on Friday?" after a question about Kerry → "Who will
Kerry meet on Friday?"). Every backend answers the question condensed here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .models import Turn
from .vocabulary import POSSESSIVE_PRONOUNS, QUESTION_OPENERS

_AMBIGUOUS = {"her"}  # object or possessive; decided by the next word
_PRONOUN = re.compile(r"\b(he|him|she|her|hers|his|they|them|their|it|its)\b", re.I)
_NAME = re.compile(r"\b(?:[A-Z][\w'’\-]+)(?:\s+(?:of\s+|al-|de\s+|von\s+)?[A-Z][\w'’\-]+)*")


def names_in(text: str) -> list[str]:
    names = []
    for m in _NAME.finditer(text):
        words = m.group().split()
        while words and words[0] in QUESTION_OPENERS:
            words = words[1:]
        if words:
            names.append(" ".join(words))
    return names


def condense(question: str, history: Sequence[Turn]) -> str:
    if not history or names_in(question) or not _PRONOUN.search(question):
        return question
    antecedent = None
    for turn in reversed(history):
        found = names_in(turn.question)
        if found:
            antecedent = found[-1]
            break
    if antecedent is None:
        return question

    def replace(m: re.Match) -> str:
        word = m.group(1)
        lower = word.lower()
        after = question[m.end():].lstrip()
        possessive = lower in POSSESSIVE_PRONOUNS or (lower in _AMBIGUOUS and after[:1].isalpha() and not after.lower().startswith(("on ", "in ", "at ", "for ", "to ", "about ")))
        return f"{antecedent}'s" if possessive else antecedent

    return _PRONOUN.sub(replace, question, count=1)

