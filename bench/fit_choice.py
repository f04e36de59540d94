"""Experiment (#34, not kept): fit the choice of the sentence to quote on retrieval's view beside the reader's.

A conditional logit over the sentences read at the shipped budget and stop score, on the readings that
bench/reader_choices.py at 68b4d07 saves (that version records the span probability), scored by article-grouped
2-fold cross-validation over 5 shuffles against the shipped choice, answerability - rank_penalty x (rank - 1).

    .venv/bin/python -m bench.fit_choice   # after bench.reader_choices at 68b4d07
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parent.parent
BUDGET, PENALTY, STOP = 4, 1.0, 8.0  # the shipped reader_sentences, rank_penalty, reader_stop_score
FEATURES = ["answerability", "rank - 1", "cosine - top read cosine", "reading order", "log words", "span probability"]


def read_set(candidates: list[dict]) -> list[dict]:
    """The sentences the shipped settings read: most promising first, stopping at the stop score."""
    read = []
    for c in sorted(candidates, key=lambda c: c["promise_order"])[:BUDGET]:
        read.append(c)
        if c["answerability"] - PENALTY * (c["rank"] - 1) >= STOP:
            break
    return read


def features(c: dict, read: list[dict]) -> list[float]:
    top = max(x["passage_score"] for x in read)
    return [c["answerability"], c["rank"] - 1, c["passage_score"] - top, c["promise_order"], np.log(c["words"]),
            c["span_probability"]]


def fit(questions: list, cols: list[int]) -> np.ndarray:
    """Weights maximising the likelihood of the gold-holding sentences under a softmax over each question's reads."""
    data = [(X[:, cols], y) for _, X, y in questions if y.any() and len(y) > 1]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for X, y in data:
            s = X @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            t = y / y.sum()
            total -= (t * np.log(p + 1e-12)).sum()
            grad -= X.T @ (t - p)
        return total + 0.01 * (w @ w), grad + 0.02 * w

    start = np.zeros(len(cols))
    start[0] = 1
    return minimize(loss, start, jac=True, method="L-BFGS-B").x


def main() -> None:
    rows = pickle.loads((ROOT / "bench" / "out" / "reader_choices.pkl").read_bytes())
    lines = (ROOT / "bench" / "out" / "squad-val" / "questions.jsonl").read_text().splitlines()
    article = {q["id"]: q["article"] for q in map(json.loads, lines)}
    questions = []
    for r in rows:
        if r["answerable"] and r["candidates"]:
            read = read_set(r["candidates"])
            questions.append((article[r["id"]], np.array([features(c, read) for c in read]),
                              np.array([c["holds_gold"] for c in read])))

    def shipped(X: np.ndarray) -> int:
        return int(np.argmax(X[:, 0] - PENALTY * X[:, 1]))

    print(f"{len(questions)} answerable questions; shipped choice holds the gold "
          f"{np.mean([y[shipped(X)] for _, X, y in questions]):.4f}, some read sentence "
          f"{np.mean([y.any() for _, X, y in questions]):.4f}")
    articles = sorted({a for a, _, _ in questions})
    for cols in ([0, 1], [0, 1, 2], [0, 1, 3], [0, 1, 2, 3], [0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5]):
        gains = []
        for seed in range(5):
            half = set(np.random.default_rng(seed).permutation(articles)[: len(articles) // 2])
            hits, base = [], []
            for fold in (half, set(articles) - half):
                w = fit([q for q in questions if q[0] not in fold], cols)
                for a, X, y in questions:
                    if a in fold:
                        hits.append(y[np.argmax(X[:, cols] @ w)])
                        base.append(y[shipped(X)])
            gains.append(np.mean(hits) - np.mean(base))
        print(f"{' + '.join(FEATURES[c] for c in cols)}: held-out gain {np.mean(gains):+.4f} ± {np.std(gains):.4f}")


if __name__ == "__main__":
    main()
