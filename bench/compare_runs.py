"""Two evaluation runs of the same questions compared question by question, with 95 % confidence intervals.

On the 600 answerable questions of a small validation set a difference of 0.01 in str_em is six questions, within
what two nearly identical readers differ by; so a choice between two variants is made on their paired differences
and the interval around them, resampling whole articles (questions of one article are not independent).

Both runs come from ``assistant eval`` with ``ASSISTANT_ANSWERABILITY_THRESHOLD=-1000`` (nothing refused, each
result keeps its ``support``), as bench/sweep_threshold.py reads them; each is scored at its own threshold:

    .venv/bin/python -m bench.compare_runs A/results.jsonl B/results.jsonl [--threshold -2] [--threshold-b -2]

It prints, for A and B and their difference B - A: str_em and answers whose bold phrase holds the gold (both over
answerable questions), refusal recall (over unanswerable ones) and false refusals.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from assistant.eval.metrics import contains_answer, strip_citation_markers

METRICS = ("str_em", "phrase_holds_gold", "refusal_recall", "false_refusal_rate")


def load(path: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if any(r["refused"] for r in rows):
        raise SystemExit(f"{path}: some answers were refused; run with ASSISTANT_ANSWERABILITY_THRESHOLD=-1000")
    return {r["id"]: r for r in rows if r.get("support") is not None and not r.get("error")}


def outcomes(row: dict, threshold: float) -> dict[str, float]:
    """The question's part in each metric (NaN where it takes no part)."""
    answered = row["support"] >= threshold
    if not row["answerable"]:
        return {"str_em": np.nan, "phrase_holds_gold": np.nan, "refusal_recall": float(not answered),
                "false_refusal_rate": np.nan}
    phrase = row["citations"][0].get("phrase") if row["citations"] else None
    return {
        "str_em": float(answered and contains_answer(strip_citation_markers(row["answer"]), row["gold"])),
        "phrase_holds_gold": float(answered and bool(phrase) and contains_answer(phrase, row["gold"])),
        "refusal_recall": np.nan,
        "false_refusal_rate": float(not answered),
    }


def compare(a: dict[str, dict], b: dict[str, dict], threshold_a: float, threshold_b: float, resamples: int = 1000,
            seed: int = 0) -> dict[str, dict[str, float]]:
    """Per metric: A's figure, B's, B - A, and the 2.5th and 97.5th percentiles of B - A over article resamples."""
    ids = sorted(set(a) & set(b))
    group = {i: a[i]["article"] or i for i in ids}  # an unanswerable question naming no article: a group of its own
    articles = sorted(set(group.values()))
    article_of = np.array([articles.index(group[i]) for i in ids])
    members = [np.flatnonzero(article_of == k) for k in range(len(articles))]
    rng = np.random.default_rng(seed)
    draws = [np.concatenate([members[k] for k in rng.integers(0, len(articles), len(articles))])
             for _ in range(resamples)]
    out = {}
    for metric in METRICS:
        va = np.array([outcomes(a[i], threshold_a)[metric] for i in ids])
        vb = np.array([outcomes(b[i], threshold_b)[metric] for i in ids])
        difference = vb - va
        spread = [np.nanmean(difference[d]) for d in draws]
        out[metric] = {"a": float(np.nanmean(va)), "b": float(np.nanmean(vb)), "b_minus_a": float(np.nanmean(difference)),
                       "low": float(np.percentile(spread, 2.5)), "high": float(np.percentile(spread, 97.5)),
                       "questions": int(np.sum(~np.isnan(difference)))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--threshold", type=float, default=-2.0, help="A's answerability threshold (and B's by default)")
    parser.add_argument("--threshold-b", type=float, help="B's, when it differs")
    args = parser.parse_args()
    table = compare(load(args.a), load(args.b), args.threshold,
                    args.threshold if args.threshold_b is None else args.threshold_b)
    print("| metric | A | B | B - A | 95 % interval | questions |")
    print("|---|---|---|---|---|---|")
    for metric, f in table.items():
        print(f"| {metric} | {f['a']:.4f} | {f['b']:.4f} | {f['b_minus_a']:+.4f} | [{f['low']:+.4f}, {f['high']:+.4f}] "
              f"| {f['questions']} |")


if __name__ == "__main__":
    main()
