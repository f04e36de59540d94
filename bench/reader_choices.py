"""Every candidate sentence the reader reads, per question, so the answer stage's choices can be made offline.

For each question of a set (by default the held-out SQuAD validation set, bench/squad_val.py), retrieve as the
assistant does and let the reader read every candidate sentence (``reader_sentences = 0``); keep, per candidate,
its passage's rank and score, the reader's answerability and span, whether the sentence and the span hold a gold
answer, and its place in the order ``reader_sentences`` reads by (extractive.by_promise). Saved as a pickle;
then ``--choose`` compares ways to pick the sentence on it: the reader's answerability less a penalty per
retrieval rank of the sentence's passage (``Settings.rank_penalty``), and the preselection budget (how many
sentences the reader reads, ``Settings.reader_sentences``).

    .venv/bin/python -m bench.reader_choices [--set bench/out/squad-val] [--out bench/out/reader_choices.pkl]
    .venv/bin/python -m bench.reader_choices --choose
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import numpy as np
from rich.progress import track

from assistant.answer.extractive import ExtractiveBackend, by_promise
from assistant.eval.corpus import default_cache_root, open_eval_index
from assistant.eval.metrics import contains_answer
from assistant.eval.questions import load_questions
from assistant.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
NEVER = 1e9  # a stop score no sentence reaches (None would leave the setting at its default)
BUDGET, PENALTY = 8, 1.0  # the shipped reader_sentences and rank_penalty, for the stop-score table


def collect(folder: Path) -> list[dict]:
    assistant = open_eval_index(folder / "articles", load_settings(reader_sentences=0, reader_stop_score=NEVER), default_cache_root()).assistant
    backend = assistant.backend("extractive")
    assert isinstance(backend, ExtractiveBackend)
    rows = []
    for q in track(load_questions(folder / "questions.jsonl"), description="reading"):
        passages = assistant.retrieve(q.question)
        candidates = backend._candidates(passages, q.question)
        promise = [(c.passage, c.start) for c in by_promise(q.question, candidates, passages, assistant.settings.rrf_k)]
        ranked = backend.rank(q.question, passages)
        rows.append({
            "id": q.id, "answerable": q.answerable, "gold": list(q.answers),
            "candidates": [{
                "rank": passages[c.passage].rank, "passage_score": passages[c.passage].score,
                "answerability": c.answerability, "promise_order": promise.index((c.passage, c.start)),
                "holds_gold": bool(q.answers) and contains_answer(c.text, q.answers),
                "span_holds_gold": bool(q.answers) and c.span is not None
                and contains_answer(c.text[c.span[0] : c.span[1]], q.answers),
                "words": len(c.text.split()),
            } for c in ranked],
        })
    return rows


def choose(rows: list[dict]) -> None:
    answerable = [r for r in rows if r["answerable"] and r["candidates"]]
    print(f"{len(answerable)} answerable questions with candidates; gold in some candidate: "
          f"{np.mean([any(c['holds_gold'] for c in r['candidates']) for r in answerable]):.3f}")
    print("| sentences read | rank penalty | sentence holds gold | span holds gold |")
    print("|---|---|---|---|")
    for budget in (0, 2, 3, 4, 6, 8, 10):
        for penalty in (0.0, 1.0, 1.5, 2.0, 3.0):
            hits, spans = [], []
            for r in answerable:
                read = [c for c in r["candidates"] if not budget or c["promise_order"] < budget]
                best = max(read, key=lambda c: c["answerability"] - penalty * (c["rank"] - 1))
                hits.append(best["holds_gold"]), spans.append(best["span_holds_gold"])
            print(f"| {budget or 'all'} | {penalty:g} | {np.mean(hits):.3f} | {np.mean(spans):.3f} |")
    print("\nReading in that order and stopping once a sentence scores at least the stop score "
          f"(rank penalty {PENALTY:g}, {BUDGET} sentences at most):\n")
    print("| stop score | sentence holds gold | span holds gold | sentences read, mean |")
    print("|---|---|---|---|")
    for stop in (None, 10, 8, 6, 4):
        hits, spans, reads = [], [], []
        for r in answerable:
            read = []
            for c in sorted(r["candidates"], key=lambda c: c["promise_order"])[:BUDGET]:
                read.append(c)
                if stop is not None and c["answerability"] - PENALTY * (c["rank"] - 1) >= stop:
                    break
            best = max(read, key=lambda c: c["answerability"] - PENALTY * (c["rank"] - 1))
            hits.append(best["holds_gold"]), spans.append(best["span_holds_gold"]), reads.append(len(read))
        print(f"| {stop if stop is not None else 'none'} | {np.mean(hits):.3f} | {np.mean(spans):.3f} | "
              f"{np.mean(reads):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=ROOT / "bench" / "out" / "squad-val")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "reader_choices.pkl")
    parser.add_argument("--choose", action="store_true", help="compare the choices on the saved readings")
    args = parser.parse_args()
    if not args.choose:
        args.out.parent.mkdir(parents=True, exist_ok=True)  # before the readings, not after them
        args.out.write_bytes(pickle.dumps(collect(args.set)))
    elif not args.out.is_file():
        parser.error(f"--choose reads the readings of an earlier run: {args.out} is not there")
    choose(pickle.loads(args.out.read_bytes()))


if __name__ == "__main__":
    main()
