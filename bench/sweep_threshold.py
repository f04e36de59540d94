"""What each answerability threshold would give, from one evaluation run that never refused.

Run ``assistant eval`` with ``ASSISTANT_ANSWERABILITY_THRESHOLD=-1000`` (nothing refused; each result keeps the
best sentence's answerability as ``support``), then this prints, per threshold, the figures a run refusing below
it would get: str_em, highlight_em, citation_precision, refusal_recall and false_refusal_rate. The shipped
threshold is chosen this way on held-out SQuAD articles (bench/squad_val.py): the highest refusal recall with
false refusals at most --max-frr, among thresholds --step apart (the table shows every 0.5 and the one chosen).

    .venv/bin/python -m bench.sweep_threshold bench/out/val/reader/results.jsonl [--max-frr 0.05] [--step 0.05]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from assistant.eval.metrics import contains_answer, strip_citation_markers


def figures(rows: list[dict], threshold: float) -> dict[str, float]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    kept = [r for r in answerable if r["support"] >= threshold]
    right = [contains_answer(strip_citation_markers(r["answer"]), r["gold"]) for r in kept]
    phrases = [bool(r["citations"][0].get("phrase")) and contains_answer(r["citations"][0]["phrase"], r["gold"])
               for r in kept if r["citations"]]
    cited = [contains_answer(c["quote"], r["gold"]) for r in kept for c in r["citations"]]
    return {
        "threshold": threshold,
        "str_em": sum(right) / max(1, len(answerable)),
        "highlight_em": float(np.mean(phrases)) if phrases else 0.0,
        "citation_precision": float(np.mean(cited)) if cited else 0.0,
        "refusal_recall": sum(r["support"] < threshold for r in unanswerable) / max(1, len(unanswerable)),
        "false_refusal_rate": 1 - len(kept) / max(1, len(answerable)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--max-frr", type=float, default=0.05)
    parser.add_argument("--step", type=float, default=0.05,
                        help="the thresholds tried, this far apart (0.5 was too coarse to tell two settings apart)")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r.get("support") is not None and not r.get("error")]
    if any(r["refused"] for r in rows):
        raise SystemExit(f"{args.results}: some answers were refused; run with ASSISTANT_ANSWERABILITY_THRESHOLD=-1000")
    tried = [figures(rows, t) for t in np.round(np.arange(-6, 8 + args.step / 2, args.step), 2) + 0.0]  # no "-0"
    fits = [f for f in tried if round(f["false_refusal_rate"], 6) <= args.max_frr]
    best = max(fits, key=lambda f: (f["refusal_recall"], -f["threshold"]))
    print("| threshold | str_em | highlight_em | citation_precision | refusal_recall | false_refusal_rate |")
    print("|---|---|---|---|---|---|")
    for f in tried:
        if f is best or abs(f["threshold"] * 2 - round(f["threshold"] * 2)) < 1e-9:
            print("| " + " | ".join(f"{f[k]:g}" if k == "threshold" else f"{f[k]:.3f}" for k in f) + " |")
    print(f"\nhighest refusal recall with false refusals <= {args.max_frr}: threshold {best['threshold']:g} "
          f"(refusal_recall {best['refusal_recall']:.3f}, false_refusal_rate {best['false_refusal_rate']:.3f}, "
          f"str_em {best['str_em']:.3f})")


if __name__ == "__main__":
    main()
