"""How follow-up questions are best made standalone: the shipped rules against the alternatives, side by side.

    .venv/bin/python -m bench.follow_ups [--set bench/conversations/questions.jsonl]
                                         [--corpus ../shared/evaldata/cnn-summary-dev/articles]

Each resolver turns (follow-up, earlier turns) into the question that is retrieved and read; everything else is
the shipped assistant, scored as `assistant eval` scores it, overall and per kind of follow-up:

- as typed: no resolution ("When?" is asked as it is);
- previous + follow-up: the previous question and the follow-up joined, what a retriever fed the conversation sees
  (the embedder and the reader then carry the context);
- rules: assistant/question/condense.py, what ships.

(The local LLM backend could rewrite follow-ups too; it is not installed by default, and SmolLM2-135M is the
model it ships, so it is not compared here.)
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import assistant.chain as chain_module
from assistant.eval.corpus import default_cache_root, open_eval_index
from assistant.eval.metrics import summarise
from assistant.eval.questions import load_questions
from assistant.eval.runner import ask_one
from assistant.eval.scopes import ids_by_file_name
from assistant.models import Turn
from assistant.question.condense import condense
from assistant.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
Resolver = Callable[[str, Sequence[Turn]], str]
RESOLVERS: dict[str, Resolver] = {
    "as typed": lambda question, history: question,
    "previous + follow-up": lambda question, history: f"{history[-1].question} {question}" if history else question,
    "rules (shipped)": condense,
}
METRICS = ("str_em", "highlight_em", "citation_precision", "refusal_recall", "false_refusal_rate", "article_hit_at_1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=ROOT / "bench" / "conversations" / "questions.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "evaldata" / "cnn-summary-dev" / "articles")
    args = parser.parse_args(argv)
    questions = load_questions(args.set)
    kinds = {json.loads(line)["id"]: json.loads(line).get("kind", "?") for line in args.set.read_text().splitlines() if line.strip()}
    index = open_eval_index(args.corpus, load_settings(), default_cache_root())
    assistant = index.assistant
    assistant.warm_up()
    ids = ids_by_file_name(assistant)
    print(f"{len(questions)} follow-ups of {args.set}\n")
    print(f"{'resolver':22} " + " ".join(f"{m:>18}" for m in METRICS) + "   str_em by kind")
    for name, resolver in RESOLVERS.items():
        chain_module.condense = resolver  # the one call the chain makes to resolve a follow-up
        try:
            results = [ask_one(assistant, q, ids) for q in questions]
        finally:
            chain_module.condense = condense
        summary = summarise(results, ingest_s=0.0)
        by_kind: dict[str, list[float]] = defaultdict(list)
        for result in results:
            if result.answerable:
                by_kind[kinds.get(result.id, "?")].append(result.outcome.get("str_em") or 0.0)
        kinds_line = ", ".join(f"{k} {sum(v) / len(v):.2f}" for k, v in sorted(by_kind.items()))
        print(f"{name:22} " + " ".join(f"{summary.get(m, float('nan')):>18.3f}" for m in METRICS) + f"   {kinds_line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
