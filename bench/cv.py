"""Article-grouped cross-validation of the answer stage: sentence ranker and refusal decision refitted per fold.

Every factoid question of the sets is asked with refusals off (``Settings.refusal = "off"``), recording the
refusal signals of its best sentence (assistant/answer/refusal.py), whether it is answerable, whether the answer
holds a gold, and how many of its citations do. Any refusal decision's outcome follows from those without asking
again. The questions are split into k folds grouped by article (no article both fitted and scored on; an
unanswerable question counts with its article when its id names it, ``news-03-q12``), and each fold's figures
come from parts fitted on the other folds only:

- the sentence ranker's weights (``extractive.SIGNAL_WEIGHTS``, as bench/fit_ranker.py fits them, on the
  candidate signals recorded in a first pass with the shipped weights): each question is asked again with the
  weights fitted without its fold, so its answer, citations and refusal signals are held out;
- then the refusal decision, fitted on the other folds' held-out answers:
  - rules, shipped: the hand rules with the thresholds as shipped (refusal.RULES_MIN_SUPPORT, MIN_PREDICATE_MATCH);
  - rules, refitted: the support threshold and the predicate check's paraphrase match refitted;
  - classifier: a logistic regression (standardised signals, label = answerable) and the probability under
    which to refuse.

Thresholds maximise ``str_em + refusal_recall - 2 * false_refusal_rate`` over the fitted questions. Printed per
set and pooled: str_em / refusal_recall / false_refusal_rate / citation_precision held out, and beside them the
in-fold figures (the shipped weights, the rules and the classifier fitted on all questions). ``--write`` writes
the classifier fitted on all questions to assistant/answer/refusal_model.json.

    .venv/bin/python -m bench.cv [--set xquad-dev --set bench/newsdev ...] [--folds 5] [--write]
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from rich.progress import track
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from assistant.answer import refusal
from assistant.answer.extractive import SIGNAL_WEIGHTS
from assistant.core import Assistant
from assistant.eval.corpus import default_cache_root, open_eval_index
from assistant.eval.metrics import citation_supports, contains_answer, strip_citation_markers
from assistant.eval.questions import load_questions
from assistant.eval.records import EvalQuestion
from assistant.settings import load_settings
from bench.fit_ranker import SIGNALS, sentence_signals
from bench.fit_ranker import fit as fit_ranker
from bench.question_sets import QuestionSet, resolve

ROOT = Path(__file__).resolve().parent.parent
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
    citations: int  # the answer's citations (counted for answerable questions)
    supporting: int  # ... whose passage or quote holds a gold


@dataclass(frozen=True)
class Question:
    set: QuestionSet
    item: EvalQuestion
    group: str


def group_of(set_name: str, question_id: str, article: str | None) -> str:
    named = re.match(r"(.+)-q\d+$", question_id)  # "news-03-q12": article 03, answerable or not
    return f"{set_name}/{named.group(1) if named else article or question_id}"


def questions_of(sets: list[QuestionSet]) -> list[Question]:
    return [Question(s, q, group_of(s.name, q.id, q.article))
            for s in sets for q in load_questions(s.questions) if q.task == "factoid"]


@cache
def assistant_for(question_set: QuestionSet) -> Assistant:
    """The set's assistant with refusals off, opened once for both passes."""
    return open_eval_index(question_set.articles, load_settings(refusal="off"), default_cache_root()).assistant


def ask(assistant: Assistant, question: Question, with_signals: bool) -> tuple[Row, dict | None]:
    """The question's row, and with ``with_signals`` (answerable ones) its candidate sentences' signals for
    fitting the ranker."""
    q = question.item
    answer = assistant.ask(q.question)
    answered = not answer.refused
    supporting = sum(citation_supports({"passage": c.passage, "quote": c.quote}, q.answers) for c in answer.citations)
    row = Row(
        set=question.set.name,
        group=question.group,
        answerable=q.answerable,
        values=answer.refusal_signals,
        correct=answered and q.answerable and contains_answer(strip_citation_markers(answer.answer), q.answers),
        citations=len(answer.citations) if q.answerable else 0,
        supporting=supporting if q.answerable else 0,
    )
    if not (with_signals and q.answerable):
        return row, None
    return row, sentence_signals(assistant.backend("extractive"), answer, q.answers)


def ask_all(questions: list[Question], weights: Callable[[int], np.ndarray], description: str,
            with_signals: bool = False) -> tuple[list[Row], list[dict | None]]:
    """Every question asked once, the i-th with the sentence-ranker weights ``weights(i)``."""
    rows, signals = [], []
    for i, question in enumerate(track(questions, description=description)):
        SIGNAL_WEIGHTS.update(zip(SIGNALS, weights(i).tolist()))
        row, found = ask(assistant_for(question.set), question, with_signals)
        rows.append(row)
        signals.append(found)
    return rows, signals


Decide = Callable[[Row], bool]  # True: refuse


def figures(rows: list[Row], refuse: Decide) -> dict[str, float]:
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    return {
        "str_em": float(np.mean([r.correct and not refuse(r) for r in answerable])) if answerable else float("nan"),
        "refusal_recall": float(np.mean([refuse(r) for r in unanswerable])) if unanswerable else float("nan"),
        "false_refusal_rate": float(np.mean([refuse(r) for r in answerable])) if answerable else float("nan"),
        "citation_precision": (sum(r.supporting for r in cited) / sum(r.citations for r in cited)
                               if (cited := [r for r in answerable if not refuse(r) and r.citations]) else float("nan")),
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
    questions = questions_of(sets)
    groups = [q.group for q in questions]
    folds = list(GroupKFold(n_splits=args.folds).split(questions, groups=groups))
    shipped = np.array([SIGNAL_WEIGHTS[s] for s in SIGNALS])
    in_fold_rows, signals = ask_all(questions, lambda i: shipped, "asking (shipped ranker)", with_signals=True)
    fold_weights = {}
    for train, test in folds:
        weights = fit_ranker([signals[i] for i in train if signals[i] is not None])
        fold_weights.update(dict.fromkeys(test.tolist(), weights))
    rows, _ = ask_all(questions, fold_weights.__getitem__, "asking (ranker fitted per fold)")  # each question answered by a ranker fitted without its fold
    SIGNAL_WEIGHTS.update(zip(SIGNALS, shipped.tolist()))
    held: dict[str, list[tuple[Row, bool]]] = {f"rules, shipped {SHIPPED_THRESHOLD}": [], "rules, refitted": [], "classifier": []}
    chosen_rules, chosen_probability = [], []
    for train, test in folds:
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
    final = fit_classifier(in_fold_rows)

    def table(title: str, rows: list[Row], outcomes: dict[str, Callable[[list[Row]], dict[str, float]]]) -> None:
        print(f"\n{title}")
        print(f"{'':34} " + " ".join(f"{s.name:>34}" for s in sets) + f" {'all':>34}")
        for name, score in outcomes.items():
            cells = [score([r for r in rows if r.set == s.name]) for s in sets] + [score(rows)]
            print(f"{name:34} " + " ".join(f"{_fmt(c):>34}" for c in cells))

    def from_held(name: str) -> Callable[[list[Row]], dict[str, float]]:
        decided = {id(r): refused for r, refused in held[name]}
        return lambda subset: figures(subset, lambda r: decided[id(r)])

    print(f"{len(rows)} factoid questions, {len(set(groups))} article groups, {args.folds} folds "
          f"({', '.join(s.name for s in sets)}); figures are str_em / refusal_recall / false_refusal_rate / citation_precision")
    table("held out (ranker and refusal fitted on the other folds)", rows, {name: from_held(name) for name in held})
    table("in-fold (the shipped ranker; refusal fitted on all questions)", in_fold_rows, {
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
