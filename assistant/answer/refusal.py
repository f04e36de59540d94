"""Do the passages answer the question? One fitted classifier over the best sentence's signals.

The signals are what the hand rules look at one threshold at a time: how well
the best sentence matches the question (support), whether it holds the question's key words,
its names, and what is asked about them (the predicate), whether it holds the kind of thing
asked for, and how far ahead of the runner-up it is. A logistic regression over them
(``refusal_model.json``: standardised weights, an intercept and the probability under which
to refuse) is fitted and cross-validated by article with bench/cv.py, on questions that say
whether they are answerable. It ties with the hand rules held out, so the rules stay the default
(``Settings.refusal``); ``refusal = "model"`` uses the classifier.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..question.analysis import QuestionAnalysis

if TYPE_CHECKING:
    from .candidates import Candidate

MODEL_PATH = Path(__file__).with_name("refusal_model.json")
# Kinds of answer that the best sentence must hold for the question to be answered.
STRICT_KINDS = ("age", "number", "money", "date", "quote", "name")
Encode = Callable[[list[str]], np.ndarray]

# --- the hand rules (Settings.refusal = "rules") -----------------------------------------------
# The support threshold (Settings.refusal_threshold), chosen on all shared sets; bench/cv.py refits it per fold.
RULES_MIN_SUPPORT = 0.40
# The predicate check refuses when the best sentence (with the one before it and the title)
# covers less than this share, by weight, of the question's non-name terms,
MIN_PREDICATE_COVERAGE = 0.34
# misses at least this many of them (one missing word is often a paraphrase: "final" for "last"),
MIN_PREDICATE_MISSING = 2
# and is less similar than this to the question without its names,
MIN_PREDICATE_SIMILARITY = 0.15
# unless its word pieces match what is asked at least this closely (``predicate_match``: a paraphrase, "find the
# net" for "scored"); chosen on all shared sets, refitted per fold by bench/cv.py (0.35 in four folds of five).
MIN_PREDICATE_MATCH = 0.35


def rule_reason(
    values: dict[str, float], min_support: float, checks: bool = True, min_predicate_match: float = MIN_PREDICATE_MATCH
) -> str | None:
    """The hand rules the classifier replaced, one threshold each: "support", "terms", "kind", "predicate" or None."""
    if values["support"] < min_support:
        return "support"
    if not checks:
        return None
    # Similar in meaning yet sharing no key word of the question, even with its context:
    # the sentence is about something else ("plague in Paris in 1466" matched to plague in London).
    if values["no_terms_in_context"]:
        return "terms"
    # The answer stands on its best sentence: a runner-up that happens to hold a number or a quote
    # does not make an unanswered "How many ...?" answered.
    if values["kind_missing"]:
        return "kind"
    # A question about the articles' own people can match their names well while what it asks
    # ("serve ... for dinner") is nowhere: refuse when neither the words nor the sense of the
    # question without its names are in the sentence and its context, nor a paraphrase of its words.
    if (
        values["predicate_coverage"] < MIN_PREDICATE_COVERAGE
        and values["predicate_missing"] * 5 >= MIN_PREDICATE_MISSING
        and values["predicate_similarity"] < MIN_PREDICATE_SIMILARITY
        and values["predicate_match"] < min_predicate_match
    ):
        return "predicate"
    return None


def signals(
    analysis: QuestionAnalysis, ranked: Sequence[Candidate], support: float, encode: Encode, predicate_match: float
) -> dict[str, float]:
    """The refusal signals of a question's ranked candidate sentences (best first); ``predicate_match`` is the
    backend's word-piece match of the question's non-name terms in the best sentence's context."""
    best = ranked[0]
    predicate = analysis.predicate_terms
    predicate_total = sum(predicate.values())
    proper = analysis.proper_terms
    without_names = analysis.without_names
    vectors = encode([without_names or analysis.text, best.text])
    strict = analysis.kind in STRICT_KINDS
    values = {
        "support": support,
        "semantic": best.signals["semantic"],
        "alignment": best.signals["alignment"],
        "alignment_in_context": best.signals["alignment_in_context"],
        "terms": best.signals["terms"],
        "terms_in_context": best.signals["terms_in_context"],
        "no_terms_in_context": float(bool(analysis.terms) and best.signals["terms_in_context"] == 0),
        "kind_missing": float(strict and not best.kind_ok),
        "strict_kind": float(strict),
        "predicate_coverage": (
            sum(w for t, w in predicate.items() if t in best.context_stems) / predicate_total if predicate else 1.0
        ),
        "predicate_missing": min(5, sum(t not in best.context_stems for t in predicate)) / 5,
        "predicate_similarity": float(vectors[0] @ vectors[1]),
        "predicate_match": predicate_match,
        # the most telling word of what is asked that the sentence does not have ("profit" where it says "revenue")
        "missing_weight": max((w for t, w in predicate.items() if t not in best.context_stems), default=0.0) / 7,
        "names_in_context": sum(t in best.context_stems for t in proper) / len(proper) if proper else 1.0,
        "passage_score": best.signals["passage_score"],
        "margin": min(1.0, (best.score - ranked[1].score) / 4) if len(ranked) > 1 else 1.0,
        "score": best.score / 10,
    }
    # The hand rules' verdicts are inputs too: the classifier weighs them against the rest.
    values["rule_support"] = float(support < RULES_MIN_SUPPORT)
    values["rule_predicate"] = float(rule_reason(values, 0.0) == "predicate")
    values["rules_refuse"] = float(rule_reason(values, RULES_MIN_SUPPORT) is not None)
    return values


@dataclass(frozen=True)
class RefusalModel:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    intercept: float
    min_probability: float  # refuse below this probability that the question is answered

    def probability(self, values: dict[str, float]) -> float:
        x = (np.array([values[f] for f in self.features]) - self.mean) / self.scale
        return 1.0 / (1.0 + math.exp(-(float(x @ self.weights) + self.intercept)))

    def to_json(self, **about) -> str:
        return json.dumps({
            **about,
            "min_probability": round(self.min_probability, 4),
            "intercept": round(self.intercept, 6),
            "features": {
                f: {"mean": round(float(m), 6), "scale": round(float(s), 6), "weight": round(float(w), 6)}
                for f, m, s, w in zip(self.features, self.mean, self.scale, self.weights)
            },
        }, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RefusalModel:
        data = json.loads(text)
        features = data["features"]
        return cls(
            features=tuple(features),
            mean=np.array([v["mean"] for v in features.values()]),
            scale=np.array([v["scale"] for v in features.values()]),
            weights=np.array([v["weight"] for v in features.values()]),
            intercept=float(data["intercept"]),
            min_probability=float(data["min_probability"]),
        )


@lru_cache(maxsize=1)
def shipped_model() -> RefusalModel | None:
    """The fitted model in the package, or None before one has been fitted."""
    return RefusalModel.from_json(MODEL_PATH.read_text(encoding="utf-8")) if MODEL_PATH.exists() else None
