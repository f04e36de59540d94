"""Condense stage: a follow-up question + history → a standalone question.

Deterministic: a follow-up that uses a pronoun and names nobody before it gets the pronoun replaced by
what it points back to, looked for in the previous turns' questions and answers, newest first:

- he/him/his/she/her/hers: a person. After "Who discovered the comet?" that is the person the
  answer named; otherwise the last name in the question ("Who will he meet?" after a question
  about Kerry → "Who will Kerry meet?"), else a person the answer named.
- it/its/they/them/their: the last name in the question, else one the answer named.
- there: a place, "then": a time ("in Uppsala", "in 1857"), by the same order (the answer first
  after a where/when question). Existential "there" ("Is there ...?") is left alone.

Elliptical follow-ups borrow the rest of the previous question (itself condensed first):

- a bare question word ("When?", "How many?", "Who else?", "And why?") takes the previous question's
  words after its own question word: "Who will Kerry meet?" then "When?" → "When will Kerry meet?".
- "And X?" / "What about X?" asks the previous question of X: the previous question's last name (else its
  last noun phrase; its last prepositional phrase when X is one, "And in 2012?") is replaced by X:
  "Who will Kerry meet?" then "And Lavrov?" → "Who will Lavrov meet?".

A pronoun's antecedent is a name as the text writes it in full ("Genghis Khan", not the "Khan" spaCy may
tag).

Names in earlier answers come from spaCy's entity recogniser.
Every backend answers the question condensed here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from ..models import Turn
from ..vocabulary import (
    MONTH,
    OBJECT_OR_POSSESSIVE,
    PERSONAL_PRONOUNS,
    POSSESSIVE_PRONOUNS,
    PREPOSITIONS,
    QUESTION_OPENERS,
)
from .parse import nlp

PREPOSITIONS_ALL = frozenset("in on at for to about from with without during before after since by of under over".split())

_PRONOUN = re.compile(r"\b(he|him|she|her|hers|his|they|them|their|it|its)\b", re.I)
# "there" as a place, not "there is/are/was ..." or "is there ...?"
_THERE = re.compile(r"(?<!\bis )(?<!\bare )(?<!\bwas )(?<!\bwere )\bthere\b(?!\s+(?:is|are|was|were|be|been|has|have|had|will|would)\b)", re.I)
_THEN = re.compile(r"\bthen\b", re.I)
_NAME = re.compile(r"\b(?:[A-Z][\w'’\-]+)(?:\s+(?:of\s+|al-|de\s+|von\s+)?[A-Z][\w'’\-]+)*")
# Capitalised but no one's name: "Who will he meet on Friday?" still names nobody.
_CALENDAR = re.compile(r"(?i:(?:mon|tues|wednes|thurs|fri|satur|sun)day|" + MONTH + r"|I)")
_MARKER = re.compile(r"\s*\[\d+\]")
_ASKS = {"person": re.compile(r"^\s*(?:who|whom|whose)\b", re.I), "place": re.compile(r"^\s*where\b", re.I),
         "thing": re.compile(r"^\s*(?:which|what)\s+(?!(?:is|was|are|were|did|does|do|has|have|had)\b)\w+", re.I),
         "time": re.compile(r"^\s*(?:when|what year|in what year|which year)\b", re.I)}
LOOKBACK = 3  # turns searched for what a pronoun points back to
# What of an earlier answer is searched for a name: its head, where an answer says what it is about (a history turn
# may hold 60 KB; parsing all of it cost a minute, and over spaCy's million characters it failed).
ANSWER_CHARS = 2000
_WH = r"(?:who|whom|whose|what|which|when|where|why|how(?:\s+(?:many|much|long|old|often|far|big|come))?)"
_LEAD = r"^\s*(?:(?:and|but|so|ok|okay|then|also)(?:\s*+,\s*+|\s++))"  # possessive: no backtracking in space runs
# "When?", "And how many?", "Who else?", "Why exactly?"
_BARE = re.compile(rf"{_LEAD}?({_WH})(?:\s+(?:else|exactly|then|so|though|now))?\s*[?.!]*\s*$", re.I)
# "What about Lavrov?", "How about in 2012?", "And Lavrov?" (but not "And when did he resign?")
_ABOUT = re.compile(r"^\s*(?:(?:and|but)\s+)?(?:what|how)\s+about\s+(.+?)\s*[?.!]*\s*$", re.I)
_AND = re.compile(r"^\s*and\s+(.+?)\s*[?.!]*\s*$", re.I)
_ASKING = re.compile(rf"^(?:{_WH}|is|are|was|were|do|does|did|will|would|can|could|has|have|had|should|may|might)\b",
                     re.I)
_QUESTION_WORDS = re.compile(rf"^\s*{_WH}(?:\s+else)?\b\s*", re.I)
_LABELS = {"person": {"PERSON"}, "place": {"GPE", "LOC", "FAC"}, "time": {"DATE", "TIME"},
           "thing": {"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW"}}


@lru_cache(maxsize=256)
def _names(text: str) -> tuple[str, ...]:
    return tuple(names_in(text))


def names_in(text: str) -> list[str]:
    names = []
    for m in _NAME.finditer(text):
        words = m.group().split()
        while words and words[0] in QUESTION_OPENERS:
            words = words[1:]
        if words:
            names.append(" ".join(words))
    return names


@lru_cache(maxsize=256)
def _parsed(text: str):
    """A turn's text parsed once (its head: a question is at most that long): each follow-up looks back over the
    same turns."""
    return nlp()(_MARKER.sub("", text[:ANSWER_CHARS]).replace("…", " "))


def _entities(text: str, kind: str, besides: str = "") -> list[str]:
    """Entities of the kind in the text that ``besides`` (the question it answered) does not already name."""
    found = _parsed(text)
    return [
        _in_full(e.text, text) for e in found.ents
        if e.label_ in _LABELS[kind] and not (besides and e.text.lower() in besides.lower())
        # the small model takes some acronyms for people ("JIG"); an acronym is no one's name
        and not (kind == "person" and e.text.isupper())
    ]


def _in_full(entity: str, text: str) -> str:
    """The name as the text writes it around the entity: the small model tags "Khan" in "Genghis Khan"."""
    for name in _names(text):
        if entity in name and len(name) > len(entity) and not _CALENDAR.fullmatch(name):
            return name
    return entity


def antecedent(kind: str, history: Sequence[Turn], resolve_earlier: bool = True) -> str | None:
    """What a pronoun of this kind (person, thing, place, time) points back to, newest turn first.

    With ``resolve_earlier``, an earlier question's own pronouns are resolved first (one level deep only,
    so a long conversation of pronouns costs a few parses, not one per path through it)."""
    for i in range(len(history) - 1, max(-1, len(history) - 1 - LOOKBACK), -1):
        turn = history[i]
        # The earlier question as it was answered: its own pronouns resolved ("Who will he meet?" → Kerry).
        asked = _standalone(turn.question, history[:i], resolve_earlier=False) if resolve_earlier and i else turn.question
        if kind == "thing":
            named = names_in(asked)
        else:
            named = _entities(asked, kind)
        # A person the conversation is about stays its subject; one asked for ("Who discovered ...?") becomes it.
        if named and not (kind != "person" and _ASKS[kind].search(asked)):
            return named[-1]
        # "it"/"they" point to a name in the answer only when one was asked for ("Which firm ...?"):
        # otherwise they mostly mean a thing the question named in lower case ("the treaty").
        answer = turn.answer[:ANSWER_CHARS]
        in_answer = _entities(answer, kind, asked) if kind != "thing" or _ASKS[kind].search(asked) else []
        if in_answer:
            return in_answer[0]
        if named:
            return named[-1]
    return None


def condense(question: str, history: Sequence[Turn]) -> str:
    return _standalone(question, history, resolve_earlier=True)


def _standalone(question: str, history: Sequence[Turn], resolve_earlier: bool, depth: int = 0) -> str:
    if not history:
        return question
    elliptical = _elliptical(question, history, depth)
    if elliptical is not None:
        return elliptical
    lead = re.match(_LEAD, question, re.I)
    if lead and _ASKING.match(question[lead.end():]):  # "And when did he resign?" asks "When did he resign?"
        rest = question[lead.end():]
        question = rest[:1].upper() + rest[1:]
    pronoun = _PRONOUN.search(question)
    names = [name for name in names_in(question) if not _CALENDAR.fullmatch(name)
             and not _PRONOUN.fullmatch(name)]  # "His wife?": a pronoun capitalised is no name
    # A name before a personal pronoun is what it points to ("Did Kerry say he would go?"); one only after it is
    # someone else ("Where will she meet Putin?", asked about Sorensen). "It" and "they" with a name anywhere are
    # most often no reference at all ("Was it Putin who hosted the talks?").
    personal = pronoun is not None and pronoun.group(1).lower() in PERSONAL_PRONOUNS
    if names and not (personal and pronoun.start() < question.find(names[0])):
        return question
    if pronoun:
        kind = "person" if pronoun.group(1).lower() in PERSONAL_PRONOUNS else "thing"
        name = antecedent(kind, history, resolve_earlier)
        if name is not None:
            question = _PRONOUN.sub(lambda m: _name_for(m, question, name), question, count=1)
    for pattern, kind in ((_THERE, "place"), (_THEN, "time")):
        if pattern.search(question):
            found = antecedent(kind, history, resolve_earlier)
            if found is not None:
                question = pattern.sub(f"in {found}" if not found.lower().startswith(("in ", "on ", "at ")) else found, question, count=1)
    return question


def _elliptical(question: str, history: Sequence[Turn], depth: int) -> str | None:
    """The standalone form of a bare question word or an "And X?", or None when the question is neither."""
    bare = _BARE.match(question)
    about = None if bare else (_ABOUT.match(question) or _AND.match(question))
    if about is not None and _ASKING.match(about.group(1)):
        return None  # "And when did he resign?": a whole question after "and"
    if (bare is None and about is None) or depth >= LOOKBACK:
        return None
    previous = _standalone(history[-1].question, history[:-1], resolve_earlier=True, depth=depth + 1)
    if bare is not None:
        asked = question.strip().rstrip("?.! ")
        asked = re.sub(_LEAD, "", asked, flags=re.I)
        rest = _QUESTION_WORDS.sub("", previous, count=1).strip().rstrip("?.! ")
        return f"{asked[:1].upper()}{asked[1:]} {rest[:1].lower() + rest[1:] if rest else ''}".strip() + "?"
    subject = _standalone(about.group(1), history, resolve_earlier=True, depth=LOOKBACK)  # "And his son?"
    return _asked_of(previous, subject)


def _asked_of(previous: str, subject: str) -> str:
    """The previous question asked of ``subject`` instead of what it asked about."""
    names = [name for name in names_in(previous) if not _CALENDAR.fullmatch(name)]
    if names and subject.split()[0].lower() not in PREPOSITIONS_ALL:
        at = previous.rfind(names[-1])
        return previous[:at] + subject + previous[at + len(names[-1]):]
    parsed = _parsed(previous)
    if subject.split()[0].lower() in PREPOSITIONS_ALL:  # "And in 2012?": in place of the last prepositional phrase
        preps = [t for t in parsed if t.dep_ == "prep"]
        if preps:
            span = parsed[preps[-1].left_edge.i : preps[-1].right_edge.i + 1]
            return previous[: span.start_char] + subject + previous[span.end_char :]
        return previous.rstrip("?.! ") + f" {subject}?"
    chunks = [c for c in parsed.noun_chunks if c.root.tag_ not in ("WP", "WDT", "PRP", "WP$")]
    if not chunks:
        return f"{previous.rstrip('?.! ')} {subject}?"
    last = chunks[-1]
    return previous[: last.start_char] + subject + previous[last.end_char :]


def _name_for(m: re.Match, question: str, name: str) -> str:
    lower = m.group(1).lower()
    after = question[m.end():].lstrip()
    possessive = lower in POSSESSIVE_PRONOUNS or (
        lower in OBJECT_OR_POSSESSIVE and after[:1].isalpha() and not after.lower().startswith(tuple(f"{p} " for p in PREPOSITIONS))
    )
    return f"{name}'s" if possessive else name
