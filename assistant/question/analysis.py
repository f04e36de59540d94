"""A question's key terms: its words that are no function words, stemmed and weighted by rarity.

The extractive answerer reads them to choose which candidate sentences the reader reads first (those holding
most of the question's terms), and the citation check to weigh the words a claim shares with its passage.
"""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer
from wordfreq import zipf_frequency

from ..vocabulary import STOPWORDS

_stemmer = Stemmer.Stemmer("english")

# A word in any alphabet: "München" is one word, "Собянин" a word at all (ASCII only split the one, lost the other).
WORD = re.compile(r"[^\W_][\w'’\-]*")


def stem(word: str) -> str:
    return _stemmer.stemWord(word.lower().strip("'’-"))


@lru_cache(maxsize=65536)
def term_weight(word: str) -> float:
    """Rarer words say more about what is asked: weight from Zipf frequency."""
    zipf = zipf_frequency(word.lower(), "en")
    return max(0.3, 7.0 - zipf)


def question_terms(question: str) -> dict[str, float]:
    """Stemmed key term -> weight (the rarest spelling of a stem counts)."""
    terms: dict[str, float] = {}
    for word in WORD.findall(question):
        if word.lower() in STOPWORDS and not word.isdigit():
            continue
        s = stem(word)
        terms[s] = max(terms.get(s, 0.0), term_weight(word))
    return terms
