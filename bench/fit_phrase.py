"""Fit the answer-phrase model (assistant/answer/phrase_model.json) and cross-validate it by article.

For every answerable question of the sets, the real assistant answers; the quote of its best
citation is split into candidate phrases (assistant/answer/phrases.py), and a candidate is a
positive when it holds a gold answer. A pairwise ranker (logistic regression on the
differences between a positive and a negative candidate of the same sentence) is fitted over their
signals; at answer time the highest-scored candidate is the phrase.

The reader's span scores (one of the signals) come from bench/fit_reader.py's out-of-fold run: for each
question, a reader fitted on other articles, as the shipped reader has not seen a user's question. Run
that first; without a shipped reader the ranker is fitted without its signals.

Printed, as ``highlight_em`` (answered answerable questions whose phrase holds a gold; a quote
without the gold counts as a miss whatever the phrase):
- in-fold: fitted and scored on all questions;
- held-out: k-fold grouped by article (no article both fitted and scored on), C chosen inside;
- the rule the model replaced (``phrases.rule_phrase``, still the fallback) on the same questions.

    .venv/bin/python -m bench.fit_phrase [--set xquad-dev --set bench/newsdev ...] [--folds 5] [--write]
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from assistant.answer import phrases, reader
from assistant.eval.metrics import contains_answer
from assistant.question.analysis import analyse
from bench.question_sets import QuestionSet, answered, resolve

ROOT = Path(__file__).resolve().parent.parent
C_GRID = [0.01, 0.03, 0.1, 0.3]
READER_OUT_OF_FOLD = ROOT / "bench" / "out" / "reader_oof.pkl"  # written by bench/fit_reader.py


def reader_scores() -> dict[str, reader.SpanLogits]:
    """The reader's out-of-fold scores by question, when a reader ships (else none: its signals stay off)."""
    if not reader.ADAPTER_PATH.exists():
        return {}
    if not READER_OUT_OF_FOLD.exists():
        sys.exit(f"{READER_OUT_OF_FOLD.relative_to(ROOT)} is missing: run python -m bench.fit_reader first")
    return pickle.loads(READER_OUT_OF_FOLD.read_bytes())  # our own bench output, not user input


@dataclass
class Case:
    group: str
    features: list[dict[str, float]]  # one per candidate (empty: the quote holds no gold)
    positive: np.ndarray
    rule_hit: bool  # the phrase the previous rule (phrases.rule_phrase) picks holds a gold
    words: list[int]


def collect(question_set: QuestionSet, scores: dict[str, reader.SpanLogits]) -> list[Case]:
    cases = []
    for assistant, q, answer, best in answered(question_set):
        analysis = analyse(answer.question or q.question)
        rule = phrases.rule_phrase(analysis, best.quote)  # the rule this model replaced
        rule_hit = rule is not None and contains_answer(best.quote[rule[0] : rule[1]], q.answers)
        group = f"{question_set.name}/{q.article}"
        if not contains_answer(best.quote, q.answers):
            cases.append(Case(group, [], np.zeros(0, bool), rule_hit, []))
            continue
        found = phrases.candidates(analysis, best.quote, assistant.embedder, scores.get(f"{question_set.name}/{q.id}"))
        positive = np.array([contains_answer(c.text, q.answers) for c in found], bool)
        cases.append(Case(group, [c.features for c in found], positive, rule_hit, [len(c.text.split()) for c in found]))
    return cases


def fit(cases: list[Case], c: float) -> dict[str, float]:
    """A pairwise ranker: logistic regression on (positive − negative) candidates of the same sentence, no intercept
    (only the order within a sentence matters)."""
    vectorizer = DictVectorizer().fit([f for case in cases for f in case.features])
    differences = []
    for case in cases:
        if not case.positive.any() or case.positive.all():
            continue
        x = vectorizer.transform(case.features).tocsr()
        negatives = x[np.flatnonzero(~case.positive)]
        for good in np.flatnonzero(case.positive)[:3]:  # a few positives per sentence keep questions balanced
            differences.append(sparse.vstack([x[good]] * negatives.shape[0]) - negatives)
    x = sparse.vstack(differences).tocsr()
    x, labels = sparse.vstack([x, -x]).tocsr(), np.r_[np.ones(x.shape[0]), np.zeros(x.shape[0])]
    lr = LogisticRegression(C=c, max_iter=5000, fit_intercept=False).fit(x, labels)
    return {name: round(float(w), 4) for name, w in zip(vectorizer.feature_names_, lr.coef_[0]) if abs(w) > 1e-6}


def picks(cases: list[Case], weights: dict[str, float]) -> list[tuple[bool, int | None]]:
    """Per case: does the best-scored candidate hold a gold, and its words (None: no candidate)."""
    out = []
    for case in cases:
        if not case.features:
            out.append((False, None))
            continue
        best = int(np.argmax([phrases.score(f, weights) for f in case.features]))
        out.append((bool(case.positive[best]), case.words[best]))
    return out


def summary(picked: list[tuple[bool, int | None]]) -> tuple[float, float]:
    """(highlight_em, median phrase words) of ``picks``."""
    words = [w for _, w in picked if w is not None]
    return float(np.mean([hit for hit, _ in picked])), float(np.median(words)) if words else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", help="question sets under shared/evaldata, or a path")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help=f"write the model fitted on all sets to {phrases.MODEL_PATH}")
    args = parser.parse_args()
    sets = resolve(args.set)
    scores = reader_scores()
    cases = [case for s in sets for case in collect(s, scores)]
    groups = [c.group for c in cases]
    print(f"{len(cases)} answered answerable questions, {len(set(groups))} articles ({', '.join(s.name for s in sets)}); "
          f"quote holds a gold in {np.mean([bool(c.features) for c in cases]):.3f}")
    print(f"the previous rule (phrases.rule_phrase): highlight_em {np.mean([c.rule_hit for c in cases]):.3f}")

    folds = list(GroupKFold(n_splits=args.folds).split(cases, groups=groups))
    held_out, chosen, hit_by_case = [], [], {}
    for train, test in folds:
        fit_cases = [cases[i] for i in train]
        # C is chosen inside the training folds (an inner grouped split), never on the held-out one.
        inner = list(GroupKFold(n_splits=3).split(fit_cases, groups=[c.group for c in fit_cases]))

        def inner_score(c: float, fit_cases=fit_cases, inner=inner) -> float:
            return float(np.mean([summary(picks([fit_cases[i] for i in te], fit([fit_cases[i] for i in tr], c)))[0]
                                  for tr, te in inner]))

        best_c = max(C_GRID, key=inner_score)
        chosen.append(best_c)
        picked = picks([cases[i] for i in test], fit(fit_cases, best_c))
        held_out.append(summary(picked))
        hit_by_case.update(zip(test, (hit for hit, _ in picked)))
    final_c = max(set(chosen), key=chosen.count)
    weights = fit(cases, final_c)
    in_fold_picked = picks(cases, weights)
    in_fold = summary(in_fold_picked)
    print(f"in-fold (C={final_c}): highlight_em {in_fold[0]:.3f}, phrase words median {in_fold[1]:.0f}")
    print(f"held-out ({args.folds} folds by article, C chosen per fold {chosen}): highlight_em "
          f"{np.mean([h[0] for h in held_out]):.3f}, phrase words median {np.median([h[1] for h in held_out]):.0f}")
    in_fold_hits = dict(enumerate(hit for hit, _ in in_fold_picked))
    for name, hits in (("held-out", hit_by_case), ("in-fold", in_fold_hits)):
        by_set = {s.name: [hit for i, hit in hits.items() if cases[i].group.startswith(f"{s.name}/")] for s in sets}
        print(f"{name} by set: " + ", ".join(f"{n} {np.mean(h):.3f} ({len(h)})" for n, h in by_set.items() if h))
    if args.write:
        phrases.MODEL_PATH.write_text(json.dumps({
            "fitted_on": [s.name for s in sets], "C": final_c, "questions": len(cases),
            "weights": dict(sorted(weights.items())),
        }, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {phrases.MODEL_PATH}")


if __name__ == "__main__":
    main()
