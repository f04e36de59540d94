"""What a question asks for: its key terms and the kind of answer it wants.

Used by the extractive answerer to score sentences and to decide whether the
best sentence actually answers (a question about the articles' own people can
score high on similarity while the text does not hold what it asks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import Stemmer
from wordfreq import zipf_frequency

from ..vocabulary import AUXILIARIES, MONTH, NUMBER_WORDS, ORDINAL_WORDS, REPORTING_VERBS, STOPWORDS

_stemmer = Stemmer.Stemmer("english")

WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")

PATTERNS = {
    "number": re.compile(r"\b\d[\d,.]*\b|\b(?:" + "|".join(NUMBER_WORDS) + r")\b", re.I),
    "date": re.compile(
        r"\b(?:1[0-9]{3}|20[0-9]{2})s?\b|\b" + MONTH + r"\.?\b|\b(?:century|centuries|decade|monday|tuesday|wednesday|"
        r"thursday|friday|saturday|sunday|today|yesterday|tomorrow|tonight|morning|evening|week|weeks|month|months|year|years|"
        r"era|period|age|bc|bce|ad|ce|bp)\b"
        # ordinals ("the nineteenth century", "the 5th"; not "first"/"second", which mostly rank) and
        # clock times ("4:51", "3 pm")
        r"|\b\d{1,2}(?:st|nd|rd|th)\b|\b(?:" + "|".join(ORDINAL_WORDS) + r")\b|\b\d{1,2}:\d{2}\b|\b\d{1,2} ?[ap]\.?m\b",
        re.I,
    ),
    # An age is a number said to be one: "38 years old", "aged 38", "at age 38", "the age of 18",
    # or the news style "Kerry, 72, said"; not any small number ("14 July").
    "age": re.compile(
        r"\b\d{1,3}[- ](?:years?[- ]old|year-old)\b|\bage(?:d| of)? \d{1,3}\b|\bat \d{1,3}\b(?! ?%)|,\s*\d{1,3},"
        # the age of a thing: "515 million years ago"
        r"|\b\d[\d,.]*(?:[- ](?:thousand|million|billion))?[- ]years?\b", re.I
    ),
    "quote": re.compile(r"[\"“”]|\b(?:" + "|".join(REPORTING_VERBS) + r")\b", re.I),
    # a sum ("$54 million", "640 million euros"), else any currency word
    "money": re.compile(
        r"[$€£¥₹] ?\d[\d,.]*(?: ?(?:million|billion|trillion|bn|m)\b)?"
        r"|\b(?:\d[\d,.]* (?:(?:million|billion|trillion) )?)?(?:dollars?|euros?|pounds?|yen|francs?|rupees?|pesos?|yuan|cents?)\b"
        r"|[$€£¥₹]",
        re.I,
    ),
}
# "How much did they spend?", "What is her salary?": a sum of money, which the answer must hold.
_MONEY_QUESTION = re.compile(
    r"\bhow much (?:money\b|(?:did|does|do|will|would|has|have|had) .*\b(?:spend|spent|pay|paid|cost|earn|raise|give|"
    r"donate|invest|lose|charge|fund|sell|sold|receive)\b|(?:is|was|are|were) .*\bworth\b)"
    r"|\bwhat (?:is|was|were|are) (?:the |its |his |her |their )?(?:[\w-]+['’]s )?(?:annual |weekly |monthly |total |average )?"
    r"(?:salary|wage|price|cost|fee|budget|revenue|profit|value)\b",
    re.I,
)
# "Which company ...?", "What is the name of ...?": a name, which the answer must hold.
_NAME_QUESTION = re.compile(
    r"^(?:in |at |from |to |for |by |with |of )?(?:which|what) (?:\w+ )?(?:city|cities|country|countries|state|states|"
    r"company|companies|firm|firms|club|clubs|team|teams|university|universities|college|party|parties|newspaper|"
    r"newspapers|organi[sz]ations?|agency|agencies|institute|institution|town|towns|province|region|airline|bank|banks|"
    r"band|brand|network|magazine|ministry|court|museum|hospital|church|county|nation|nations|language)\b"
    r"|\bwhat (?:is|was|are|were) the names? of\b",
    re.I,
)


# A time given by a named event: a temporal preposition, then a capitalised name.
_EVENT_TIME = re.compile(
    r"\b(?i:after|before|during|following|until|since|at the (?:end|start|beginning|time|height) of)\s+(?:the\s+)?"
    r"[A-Z][\w'’-]*(?:\s+(?:of\s+)?[A-Z0-9][\w'’-]*)*"
    # ... or by a condition: "occurs when the immune system is less active"
    r"|\b(?i:when|whenever|once)\s+(?:the\s+|a\s+|an\s+)?[\w'’-]+"
)


@dataclass(frozen=True)
class QuestionAnalysis:
    text: str
    kind: str | None  # "number", "money", "date", "age", "quote", "person", "place", "name" or None (open)
    terms: dict[str, float]  # stemmed key term -> weight (rarer words weigh more)
    proper_terms: frozenset[str]  # stems of capitalised words (names) in the question
    speaker: frozenset[str] = frozenset()  # in "What did Lavrov say ...?", the stems of who is said to speak

    @property
    def without_names(self) -> str:
        """The question with its names taken out: what it asks, whoever it is about."""
        words = WORD.findall(_FRAMES.sub(" ", self.text))
        return " ".join(w for i, w in enumerate(words) if not (i > 0 and w[0].isupper()))

    @property
    def predicate_terms(self) -> dict[str, float]:
        """What is asked about the names: the terms that are not names."""
        return {t: w for t, w in self.terms.items() if t not in self.proper_terms}


def stem(word: str) -> str:
    return _stemmer.stemWord(word.lower().strip("'’-"))


@lru_cache(maxsize=65536)
def term_weight(word: str) -> float:
    """Rarer words say more about what is asked: weight from Zipf frequency."""
    zipf = zipf_frequency(word.lower(), "en")
    return max(0.3, 7.0 - zipf)


# Phrases that frame a question without naming what it is about.
_FRAMES = re.compile(r"\b(?:stands?|stood) for\b|\bshort for\b|\bis meant by\b|\b(?:type|kind|sort)s? of\b", re.I)


_TYPE_NOUN = re.compile(r"(?:which|what)\s+([a-z]+)\b", re.I)


def analyse(question: str) -> QuestionAnalysis:
    framed = _FRAMES.sub(" ", question)
    terms: dict[str, float] = {}
    proper: set[str] = set()
    # In "Which newspaper ...?" the noun names the kind of answer; the answering sentence
    # seldom repeats it ("... published by The Washington Post"), so it weighs little.
    type_noun = _TYPE_NOUN.match(question.strip())
    type_stem = stem(type_noun.group(1)) if type_noun and type_noun.group(1).lower() not in AUXILIARIES else None
    for i, word in enumerate(WORD.findall(framed)):
        if word.lower() in STOPWORDS and not word.isdigit():
            continue
        s = stem(word)
        weight = term_weight(word) * (0.5 if s == type_stem else 1.0)
        terms[s] = max(terms.get(s, 0.0), weight)
        if word[0].isupper() and i > 0:
            proper.add(s)
    kind = answer_kind(question)
    return QuestionAnalysis(question, kind, terms, frozenset(proper), _speaker(question) if kind == "quote" else frozenset())


_SPOKEN_BY = re.compile(r"^(?:what|how) (?:did|does|do|has|have|had|will|would) (.+?) (?:" + "|".join(REPORTING_VERBS) + r")\b", re.I)


def _speaker(question: str) -> frozenset[str]:
    """The names of who a quote question says spoke ("Nadia Ferenc" of "President Nadia Ferenc": a title,
    a common word, names nobody); empty for "the striker"."""
    spoken = _SPOKEN_BY.match(question.strip())
    words = WORD.findall(spoken.group(1)) if spoken else []
    return frozenset(stem(w) for w in words if w[0].isupper() and zipf_frequency(w.lower(), "en") < 4.5)


def answer_kind(question: str) -> str | None:
    q = question.lower().strip()
    # The question word decides the kind: "when" asks for a time only as the question word
    # ("What happens when the immune system ...?" does not), "age" only in "how old"/"what age".
    if re.search(r"\bhow old\b|\bwhat age\b|^(?:what|which) (?:is|was) (?:the |their |his |her )?age\b", q):
        return "age"
    if _MONEY_QUESTION.search(q):
        return "money"
    if re.search(r"\bhow (?:many|much|long|far|large|big|tall|high|often)\b|\bwhat (?:percentage|percent|number|amount)\b"
                 r"|\b(?:phone|telephone) number\b", q):
        return "number"
    if re.search(r"^(?:since |until |and |but |so )?when\b|\bwhen\W*$|\bwhat (?:year|date|day|month|time|century|decade|period)\b"
                 r"|\bwhich (?:year|date|day|month|century)\b", q):
        return "date"
    verbs = set(re.findall(r"\w+", q))
    if re.match(r"^(?:what|how) (?:did|does|do|has|have|had|will|would) .*\b(?:say|tell|state|announce|claim|comment)\b", q) and verbs & REPORTING_VERBS:
        return "quote"
    if re.match(r"^(?:who|whom|whose)\b", q):
        return "person"
    if re.match(r"^where\b", q):
        return "place"
    if _NAME_QUESTION.search(q):
        return "name"
    return None


def sentence_has_kind(kind: str | None, sentence: str, analysis: QuestionAnalysis) -> bool:
    """Does the sentence hold something of the asked-for kind, beyond what the question already says?"""
    if kind is None:
        return True
    if kind in PATTERNS:
        question_hits = {m.group().lower() for m in PATTERNS[kind].finditer(analysis.text)}
        if any(m.group().lower() not in question_hits for m in PATTERNS[kind].finditer(sentence)):
            # A quote answers "What did Lavrov say?" only when it is Lavrov's: his name is in the sentence.
            return kind != "quote" or not analysis.speaker or bool(analysis.speaker & {stem(w) for w in WORD.findall(sentence)})
        # "When ...?" is also answered by a named event or a condition: "at the end of World War I".
        return kind == "date" and any(m.group().lower() not in analysis.text.lower() for m in _EVENT_TIME.finditer(sentence))
    if kind == "name":
        return _has_new_name(sentence, analysis, rare_first_word=True)
    if kind in ("person", "place"):
        if _has_new_name(sentence, analysis, rare_first_word=False):
            return True
        return bool(re.search(r"\b(?:official|minister|president|spokesman|spokeswoman|leader|king|queen|scientist)s?\b", sentence, re.I))
    return True


def _has_new_name(sentence: str, analysis: QuestionAnalysis, rare_first_word: bool) -> bool:
    """A capitalised word the question does not mention; the sentence's first word counts only
    with ``rare_first_word`` and when it is a rare word (a name, not "The")."""
    for i, word in enumerate(WORD.findall(sentence)):
        if not word[0].isupper() or stem(word) in analysis.terms:
            continue
        if i > 0 or (rare_first_word and zipf_frequency(word.lower(), "en") < 4.5):
            return True
    return False
