"""Fit a refusal from the reader's own outputs: what they add to its answerability (an experiment; not kept).

The extractive backend refuses when the chosen sentence's answerability (best span score minus [CLS]'s) is below
``answerability_threshold``. This asks whether the reader's other outputs for that sentence (recorded per question
in ``results.jsonl``'s ``refusal_signals`` by this commit's extractive backend: the span's probability, the raw
[CLS] score, the margin to the next sentence read, how many read sentences give the same span) tell answerable from
unanswerable better: a logistic regression on each with the answerability, by article-grouped 2-fold
cross-validation repeated over five shuffles, each fold's threshold picked on the other fold (the most refusals
with false refusals <= ``--false-refusals`` there), against the answerability alone under the same protocol.

    ASSISTANT_ANSWERABILITY_THRESHOLD=-1000 .venv/bin/assistant eval bench/out/squad-val/questions.jsonl \\
        --corpus bench/out/squad-val/articles --out bench/out/val/open
    .venv/bin/python -m bench.fit_refusal bench/out/val/open/results.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

SIGNALS = ("answerability", "log_span_probability", "no_answer", "margin", "agreement", "second_answerability", "read")


def load(path: Path) -> dict[str, np.ndarray]:
    """Per factoid question: its signals (NaN when nothing was read: always refused), answerable, str_em, article."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r.get("task", "factoid") == "factoid" and r.get("error") is None]
    if not rows or not any(r.get("refusal_signals") for r in rows):
        raise SystemExit(f"{path}: no refusal_signals; run the eval with this version of the assistant")
    signals = [[(r.get("refusal_signals") or {}).get(s, np.nan) for s in SIGNALS] for r in rows]
    return {
        "x": np.array(signals, dtype=float),
        "answerable": np.array([r["answerable"] for r in rows]),
        "str_em": np.array([float(r["outcome"].get("str_em") or 0.0) for r in rows]),
        "article": np.array([r.get("article") or r["id"] for r in rows]),
    }


def threshold(score: np.ndarray, answerable: np.ndarray, false_refusals: float) -> float:
    """The highest threshold refusing at most ``false_refusals`` of the answerable (refused: score < threshold)."""
    ordered = np.sort(np.nan_to_num(score[answerable], nan=-np.inf))
    return float(ordered[int(np.floor(false_refusals * len(ordered)))])


def scores(data: dict[str, np.ndarray], at: float, mask: np.ndarray, score: np.ndarray) -> np.ndarray:
    """refusal recall, false refusal rate, str_em over ``mask``'s questions, refusing below ``at``."""
    refused = ~(np.nan_to_num(score, nan=-np.inf) >= at)
    answerable, unanswerable = mask & data["answerable"], mask & ~data["answerable"]
    return np.array([refused[unanswerable].mean(), refused[answerable].mean(),
                     (data["str_em"][answerable] * ~refused[answerable]).mean()])


def fit(x: np.ndarray, answerable: np.ndarray, columns: list[int]) -> LogisticRegression:
    usable = ~np.isnan(x).any(axis=1)
    return LogisticRegression(max_iter=2000).fit(x[usable][:, columns], answerable[usable])


def decide(model: LogisticRegression | None, x: np.ndarray, columns: list[int]) -> np.ndarray:
    if model is None:  # the answerability alone
        return x[:, 0]
    out = np.full(len(x), np.nan)
    usable = ~np.isnan(x).any(axis=1)
    out[usable] = model.decision_function(x[usable][:, columns])
    return out


def cross_validate(data: dict[str, np.ndarray], columns: list[int] | None, false_refusals: float,
                   shuffles: int = 5) -> np.ndarray:
    articles = sorted(set(data["article"]))
    results = []
    for seed in range(shuffles):
        order = list(articles)
        np.random.default_rng(seed).shuffle(order)
        fold_of = {a: i % 2 for i, a in enumerate(order)}
        fold = np.array([fold_of[a] for a in data["article"]])
        for k in (0, 1):
            train, test = fold != k, fold == k
            model = None if columns is None else fit(data["x"][train], data["answerable"][train], columns)
            score = decide(model, data["x"], columns or [0])
            at = threshold(score[train], data["answerable"][train], false_refusals)
            results.append(scores(data, at, test, score))
    return np.mean(results, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="an open-threshold eval's results.jsonl")
    parser.add_argument("--false-refusals", type=float, default=0.05, help="the false refusal rate allowed")
    args = parser.parse_args()
    data = load(args.results)
    n = len(data["answerable"])
    print(f"{n} questions ({data['answerable'].sum()} answerable), {len(set(data['article']))} articles; "
          f"article-grouped 2-fold cross-validation, 5 shuffles, thresholds picked on the other fold at false "
          f"refusals ≤ {args.false_refusals:g}\n")
    print("| signals | refusal recall | false refusal rate | str_em |\n|---|---|---|---|")
    every = list(range(len(SIGNALS)))
    rows = [("answerability alone", None), ("answerability (fitted)", [0])]
    rows += [(f"answerability + {SIGNALS[i]}", [0, i]) for i in every[1:]]
    rows += [("all", every)]
    for name, columns in rows:
        recall, false, em = cross_validate(data, columns, args.false_refusals)
        print(f"| {name} | {recall:.4f} | {false:.4f} | {em:.4f} |")
    model = fit(data["x"], data["answerable"], every)
    coef = model.coef_[0]
    print("\nFitted on every question, in the answerability's units (each coefficient over the answerability's):\n")
    for i, signal in enumerate(SIGNALS[1:], start=1):
        print(f"  {signal} = {coef[i] / coef[0]:.3f}")


if __name__ == "__main__":
    main()
