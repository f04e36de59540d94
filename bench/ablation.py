"""Ablation of retrieval and answer changes, one `assistant eval` run per row.

Each row switches on one more change through ASSISTANT_* settings, so every
figure comes from the real CLI. Prints a Markdown table (paste it into the
README) and writes it to bench/out/ablation.md.

    .venv/bin/python -m bench.ablation [--limit N] [--sets xquad-dev seed newsdev]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVALDATA = ROOT.parent / "shared" / "evaldata"
# name -> (questions, corpus). newsdev is self-written (bench/newsdev/README.md): a proxy for news
# questions that paraphrase the text, measured but not tuned on.
SETS = {
    "xquad-dev": (EVALDATA / "xquad-dev" / "questions.jsonl", EVALDATA / "xquad-dev" / "articles"),
    "seed": (EVALDATA / "seed" / "questions.jsonl", ROOT / "seeds"),
    "newsdev": (ROOT / "bench" / "newsdev" / "questions.jsonl", ROOT / "bench" / "newsdev" / "articles"),
}

# Cumulative: each row keeps the settings of the rows above it.
ROWS = [
    ("dense only, best sentence by similarity", {"ASSISTANT_HYBRID": "false", "ASSISTANT_EXTRACTIVE_SCORING": "semantic",
                                                 "ASSISTANT_SECOND_SENTENCE_MARGIN": "0", "ASSISTANT_ANSWER_MAX_WORDS": "0",
                                                 "ASSISTANT_REFUSAL_CHECKS": "false"}),
    ("+ keyword (BM25, RRF fusion)", {"ASSISTANT_HYBRID": "true"}),
    ("+ weighted signals (terms, kind, context, rank)", {"ASSISTANT_EXTRACTIVE_SCORING": "signals"}),
    ("+ runner-up sentence when close", {"ASSISTANT_SECOND_SENTENCE_MARGIN": "0.8"}),
    ("+ long sentences quoted by their answering clauses", {"ASSISTANT_ANSWER_MAX_WORDS": "30"}),
    ("+ refusal checks (terms, kind, predicate) = default", {"ASSISTANT_REFUSAL_CHECKS": "true"}),
]
COLUMNS = ["answer_recall_at_k", "str_em", "answer_words_median", "citation_precision",
           "refusal_recall", "false_refusal_rate", "latency_p50_ms"]


def run_row(name: str, env: dict, question_set: str, limit: int | None, out: Path) -> dict:
    questions, corpus = SETS[question_set]
    args = [str(Path(sys.executable).parent / "assistant"), "eval", str(questions), "--corpus", str(corpus), "--out", str(out)]
    if limit:
        args += ["--limit", str(limit)]
    print(f"[{question_set}] {name}", file=sys.stderr, flush=True)
    subprocess.run(args, env={**os.environ, **env}, check=True, stdout=subprocess.DEVNULL)
    return json.loads((out / "summary.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    opts = parser.parse_args()
    out_root = ROOT / "bench" / "out" / "ablation"
    lines = []
    for question_set in opts.sets:
        env: dict[str, str] = {}
        lines += [f"\n**{question_set}**\n", "| setting | " + " | ".join(COLUMNS) + " |",
                  "|---|" + "---|" * len(COLUMNS)]
        for i, (name, change) in enumerate(ROWS):
            env.update(change)
            summary = run_row(name, dict(env), question_set, opts.limit, out_root / question_set / f"row{i}")
            cells = [_fmt(summary.get(c), c) for c in COLUMNS]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    table = "\n".join(lines)
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "out" / "ablation.md").write_text(table + "\n")
    print(table)


# Counts and milliseconds read best whole; rates to three places.
WHOLE = {"answer_words_median", "latency_p50_ms"}


def _fmt(value, column: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f}" if column in WHOLE else f"{value:.3f}"


if __name__ == "__main__":
    main()
