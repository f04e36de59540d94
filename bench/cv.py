"""Article-grouped cross-validation of the refusal decision: the fitted classifier against the hand rules.

Every factoid question of the sets is asked once with refusals off (``Settings.refusal = "off"``),
recording the refusal signals of its best sentence (assistant/answer/refusal.py), whether it is
answerable, and whether the answer holds a gold. Any refusal decision's outcome follows from those
without asking again. Then, fold by fold (k-fold grouped by article, so no article is both fitted and
scored on; an unanswerable question counts with its article when its id names it, ``news-03-q12``):

- rules, shipped: the hand rules with the threshold as shipped (refusal.RULES_MIN_SUPPORT);
- rules, refitted: the same rules with the support threshold and the predicate check's paraphrase match
  (refusal.MIN_PREDICATE_MATCH) refitted on the other folds;
- classifier: a logistic regression (standardised signals, label = answerable) and the probability
  under which to refuse, both fitted on the other folds.

Thresholds maximise ``str_em + refusal_recall - 2 * false_refusal_rate`` over the fitted questions.
Printed per set and pooled: held-out figures, and the classifier fitted and scored on all questions
(in-fold) beside them. ``--write`` writes the classifier fitted on all questions to
assistant/answer/refusal_model.json.

    .venv/bin/python bench/cv.py [--set xquad-dev --set bench/newsdev ...] [--folds 5] [--write]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from question_sets import QuestionSet, resolve  # noqa: E402

from assistant.answer import refusal  # noqa: E402
from assistant.eval.corpus import default_cache_root, open_eval_index  # noqa: E402
from assistant.eval.metrics import contains_answer, strip_citation_markers  # noqa: E402
from assistant.eval.questions import load_questions  # noqa: E402
from assistant.settings import load_settings  # noqa: E402

SHIPPED_THRESHOLD = refusal.RULES_MIN_SUPPORT
SUPPORT_GRID = np.round(np.arange(0.20, 0.60, 0.01), 2)
PREDICATE_MATCH_GRID = np.round(np.arange(0.20, 0.60, 0.025), 3)
PROBABILITY_GRID = np.round(np.arange(0.05, 0.95, 0.01), 2)
C = 0.1  # L2 strength on standardised signals (18 of them, ~900 questions); 0.03-0.3 score alike under CV


@dataclass(frozen=True)
class Row:
    set: str
    group: str
    answerable: bool
    values: dict[str, float] | None  # None: no candidate sentence at all (always refused)
    correct: bool  # the answer, when given, holds a gold


def group_of(set_name: str, question_id: str, article: str | None) -> str:
    named = re.match(r"(.+)-q\d+$", question_id)  # "news-03-q12": article 03, answerable or not
    return f"{set_name}/{named.group(1) if named else article or question_id}"


def collect(question_set: QuestionSet) -> list[Row]:
    assistant = open_eval_index(question_set.articles, load_settings(refusal="off"), default_cache_root()).assistant
    rows = []
    for q in load_questions(question_set.questions):
        if q.task != "factoid":
            continue
        answer = assistant.ask(q.question)
        answered = not answer.refused
        rows.append(Row(
            set=question_set.name,
            group=group_of(question_set.name, q.id, q.article),
            answerable=q.answerable,
            values=answer.refusal_signals,
            correct=answered and q.answerable and contains_answer(strip_citation_markers(answer.answer), q.answers),
        ))
    return rows


Decide = Callable[[Row], bool]  # True: refuse


def figures(rows: list[Row], refuse: Decide) -> dict[str, float]:
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    return {
        "str_em": float(np.mean([r.correct and not refuse(r) for r in answerable])) if answerable else float("nan"),
        "refusal_recall": float(np.mean([refuse(r) for r in unanswerable])) if unanswerable else float("nan"),
        "false_refusal_rate": float(np.mean([refuse(r) for r in answerable])) if answerable else float("nan"),
    }


def objective(f: dict[str, float]) -> float:
    return f["str_em"] + np.nan_to_num(f["refusal_recall"]) - 2 * f["false_refusal_rate"]


def rules(threshold: float, predicate_match: float = refusal.MIN_PREDICATE_MATCH) -> Decide:
    return lambda r: r.values is None or refusal.rule_reason(r.values, threshold, True, predicate_match) is not None


def fit_classifier(rows: list[Row]) -> refusal.RefusalModel:
    usable = [r for r in rows if r.values is not None]
    features = tuple(usable[0].values)
    x = np.array([[r.values[f] for f in features] for r in usable])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=C, max_iter=5000).fit((x - mean) / scale, [r.answerable for r in usable])
    model = refusal.RefusalModel(features, mean, scale, lr.coef_[0], float(lr.intercept_[0]), 0.5)
    probability = {id(r): model.probability(r.values) for r in usable}
    best = max(PROBABILITY_GRID, key=lambda p: objective(figures(rows, _below(probability, p))))
    return refusal.RefusalModel(features, mean, scale, lr.coef_[0], float(lr.intercept_[0]), float(best))


def _below(probability: dict[int, float], p: float) -> Decide:
    return lambda r: r.values is None or probability[id(r)] < p


def classifier(model: refusal.RefusalModel) -> Decide:
    return lambda r: r.values is None or model.probability(r.values) < model.min_probability


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", help="question sets under shared/evaldata, or a path")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help=f"write the classifier fitted on all sets to {refusal.MODEL_PATH}")
    args = parser.parse_args()
    sets = resolve(args.set)
    rows = [row for s in sets for row in collect(s)]
    groups = [r.group for r in rows]
    held: dict[str, list[tuple[Row, bool]]] = {f"rules, shipped {SHIPPED_THRESHOLD}": [], "rules, refitted": [], "classifier": []}
    chosen_rules, chosen_probability = [], []
    for train, test in GroupKFold(n_splits=args.folds).split(rows, groups=groups):
        fit = [rows[i] for i in train]
        scored = [rows[i] for i in test]
        grid = [(t, m) for t in SUPPORT_GRID for m in PREDICATE_MATCH_GRID]
        threshold, match = max(grid, key=lambda tm: objective(figures(fit, rules(*tm))))
        model = fit_classifier(fit)
        chosen_rules.append((float(threshold), float(match)))
        chosen_probability.append(model.min_probability)
        for name, decide in ((f"rules, shipped {SHIPPED_THRESHOLD}", rules(SHIPPED_THRESHOLD)), ("rules, refitted", rules(threshold, match)),
                             ("classifier", classifier(model))):
            held[name] += [(r, decide(r)) for r in scored]
    final = fit_classifier(rows)

    def table(title: str, outcomes: dict[str, Callable[[list[Row]], dict[str, float]]]) -> None:
        print(f"\n{title}")
        print(f"{'':34} " + " ".join(f"{s.name:>34}" for s in sets) + f" {'all':>34}")
        for name, score in outcomes.items():
            cells = [score([r for r in rows if r.set == s.name]) for s in sets] + [score(rows)]
            print(f"{name:34} " + " ".join(f"{_fmt(c):>34}" for c in cells))

    def from_held(name: str) -> Callable[[list[Row]], dict[str, float]]:
        decided = {id(r): refused for r, refused in held[name]}
        return lambda subset: figures(subset, lambda r: decided[id(r)])

    print(f"{len(rows)} factoid questions, {len(set(groups))} article groups, {args.folds} folds "
          f"({', '.join(s.name for s in sets)}); figures are str_em / refusal_recall / false_refusal_rate")
    table("held out (fitted on the other folds)", {name: from_held(name) for name in held})
    table("in-fold (fitted on all questions)", {
        f"rules, {SHIPPED_THRESHOLD}": lambda subset: figures(subset, rules(SHIPPED_THRESHOLD)),
        "classifier": lambda subset: figures(subset, classifier(final)),
    })
    print(f"\nchosen per fold: (support threshold, predicate match) {chosen_rules}; "
          f"classifier min probability {chosen_probability}")
    print("classifier weights (standardised): " + ", ".join(
        f"{f} {w:+.2f}" for f, w in sorted(zip(final.features, final.weights), key=lambda fw: -abs(fw[1]))))
    if args.write:
        refusal.MODEL_PATH.write_text(final.to_json(fitted_on=[s.name for s in sets], questions=len(rows), C=C), encoding="utf-8")
        print(f"wrote {refusal.MODEL_PATH}")


def _fmt(f: dict[str, float]) -> str:
    return " / ".join("n/a" if np.isnan(v) else f"{v:.3f}" for v in f.values())


if __name__ == "__main__":
    main()
