"""Experiment (#34, not kept): two readers' start/end logits averaged, probed offline on the validation set.

Reads the first 4 candidates (the shipped promise order) of every validation question with reader A (the shipped
file), reader B (``--weights``, another reader file such as
``git show 2ecc889:assistant/answer/reader-weights.safetensors``) and their logit average, then chooses as the
shipped answer stage does (rank penalty 1, stop score 8) and compares the three:

    .venv/bin/python -m bench.ensemble_probe --weights bench/out/reader-2ecc889.safetensors
"""

from __future__ import annotations

import argparse
import pickle
from functools import partial
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from assistant.answer import reader
from assistant.answer.extractive import by_promise
from assistant.eval.corpus import default_cache_root, open_eval_index
from assistant.eval.metrics import contains_answer
from assistant.eval.questions import load_questions
from assistant.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
BUDGET, PENALTY, STOP = 4, 1.0, 8.0  # the shipped reader_sentences, rank_penalty and reader_stop_score


def _logits(r: reader.Reader, question: str, sentence: str):
    encoding = r.tokenizer.encode(question, sentence)
    feed = {name: np.array([values], dtype=np.int64) for name, values in
            (("input_ids", encoding.ids), ("attention_mask", encoding.attention_mask),
             ("token_type_ids", encoding.type_ids))}
    starts, ends = r.session.run(None, feed)
    return starts[0], ends[0], encoding


def read_all(questions, folder: Path, weights: Path) -> list[dict]:
    a, b = reader.Reader(), reader.Reader(weights=weights)
    assistant = open_eval_index(folder / "articles", load_settings(reader_sentences=0), default_cache_root()).assistant
    backend = assistant.backend("extractive")
    rows = []
    for q in questions:
        passages = assistant.retrieve(q.question)
        candidates = backend._candidates(passages, q.question)
        read = []
        for c in by_promise(q.question, candidates, passages, assistant.settings.rrf_k)[:BUDGET] if candidates else []:
            sa, ea, encoding = _logits(a, q.question, c.reading_text)
            sb, eb, _ = _logits(b, q.question, c.reading_text)
            row = {"rank": passages[c.passage].rank, "holds_gold": bool(q.answers) and contains_answer(c.text, q.answers)}
            for name, (s, e) in {"A": (sa, ea), "B": (sb, eb), "A+B": ((sa + sb) / 2, (ea + eb) / 2)}.items():
                reading = reader._best_span(s, e, encoding, c.reading_text)
                span = c.reading_text[reading.span[0] : reading.span[1]] if reading.span else ""
                row[name] = (reading.answerability, bool(q.answers) and contains_answer(span, q.answers))
            read.append(row)
        rows.append({"answerable": q.answerable, "candidates": read})
    return rows


def compare(rows: list[dict]) -> None:
    def chosen(candidates, model):
        read = []
        for c in candidates:
            read.append(c)
            if c[model][0] - PENALTY * (c["rank"] - 1) >= STOP:
                break
        return max(read, key=lambda c: c[model][0] - PENALTY * (c["rank"] - 1))

    print("| reader | sentence holds gold | span holds gold | refusal recall at false refusals 0.05 | AUC |")
    print("|---|---|---|---|---|")
    for model in ("A", "B", "A+B"):
        sentence, span, answerable, unanswerable = [], [], [], []
        for r in (r for r in rows if r["candidates"]):
            best = chosen(r["candidates"], model)
            if r["answerable"]:
                sentence.append(best["holds_gold"]), span.append(best[model][1]), answerable.append(best[model][0])
            else:
                unanswerable.append(best[model][0])
        answerable, unanswerable = np.array(answerable), np.array(unanswerable)
        threshold = np.quantile(answerable, 0.05)
        auc = (unanswerable[:, None] < answerable[None, :]).mean()
        print(f"| {model} | {np.mean(sentence):.4f} | {np.mean(span):.4f} | {np.mean(unanswerable < threshold):.3f} "
              f"| {auc:.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, required=True, help="reader B's file")
    parser.add_argument("--set", type=Path, default=ROOT / "bench" / "out" / "squad-val")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "ensemble_probe.pkl")
    args = parser.parse_args()
    reader.Reader(weights=args.weights).build()  # once, before the two processes
    questions = list(load_questions(args.set / "questions.jsonl"))
    with Pool(2) as pool:
        parts = pool.map(partial(read_all, folder=args.set, weights=args.weights), [questions[0::2], questions[1::2]])
    rows = [row for part in parts for row in part]
    args.out.write_bytes(pickle.dumps(rows))
    compare(rows)


if __name__ == "__main__":
    main()
