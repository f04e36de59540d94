"""Fit the extractive answerer's sentence-signal weights, and say how well they rank.

For every answerable question of a question set, the real assistant retrieves
its passages and scores each candidate sentence's signals (the same code that
answers). A pairwise ranker (logistic regression on "gold sentence minus other
sentence" differences, no intercept) is fitted; the weights are what
``SIGNAL_WEIGHTS`` in ``assistant/answer/extractive.py`` holds. Prints:

- top-1 accuracy (the best-scored sentence holds a gold answer) of the weights
  in the code, on all questions;
- the same for weights refitted with k-fold cross-validation grouped by article,
  so no article is both trained and scored on: what to expect on unseen articles;
- the weights refitted on all questions, to paste into the code.

    .venv/bin/python -m bench.fit_ranker [--set xquad-dev --set bench/newsdev ...] [--folds 5]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from assistant.answer.extractive import SIGNAL_WEIGHTS, ExtractiveBackend
from assistant.eval.corpus import default_cache_root, open_eval_index
from assistant.eval.metrics import contains_answer
from assistant.eval.questions import load_questions
from assistant.models import Answer
from assistant.settings import load_settings
from bench.question_sets import QuestionSet, resolve

ROOT = Path(__file__).resolve().parent.parent
SIGNALS = list(SIGNAL_WEIGHTS)


def candidate_signals(question_set: QuestionSet) -> list[dict]:
    """Per answerable question: its article, a signals matrix (candidates x SIGNALS), and which candidates hold a gold."""
    settings = load_settings()
    index = open_eval_index(question_set.articles, settings, default_cache_root())
    assistant = index.assistant
    ranker = assistant.backend("extractive")
    out = []
    for q in load_questions(question_set.questions):
        if not q.answerable:
            continue
        answer = assistant.ask(q.question)  # the passages and standalone question the answer came from
        if (found := sentence_signals(ranker, answer, q.answers)) is not None:
            out.append({"set": question_set.name, "article": f"{question_set.name}/{q.article}", **found})
    return out


def sentence_signals(ranker: ExtractiveBackend, answer: Answer, golds: list[str]) -> dict | None:
    """The candidate sentences' signals (candidates x SIGNALS) and which hold a gold, for the passages ``answer``
    came from; None when there is nothing to rank (no gold candidate, or only gold ones)."""
    candidates = ranker.rank(answer.question, answer.passages)
    gold = np.array([contains_answer(c.text, golds) for c in candidates], bool)
    if not gold.any() or gold.all():
        return None
    return {"signals": np.array([[c.signals[s] for s in SIGNALS] for c in candidates]), "gold": gold}


def fit(questions: list[dict]) -> np.ndarray:
    differences = []
    for q in questions:
        for good in q["signals"][q["gold"]]:
            for bad in q["signals"][~q["gold"]]:
                differences += [good - bad, bad - good]
    labels = np.tile([1, 0], len(differences) // 2)
    model = LogisticRegression(fit_intercept=False, max_iter=5000).fit(np.array(differences), labels)
    return model.coef_[0]


def top1(questions: list[dict], weights: np.ndarray) -> float:
    return float(np.mean([q["gold"][int(np.argmax(q["signals"] @ weights))] for q in questions]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", action="append", help="question sets under shared/evaldata, or a path (default: all)")
    parser.add_argument("--folds", type=int, default=5)
    opts = parser.parse_args()
    sets = resolve(opts.set)
    questions = [q for s in sets for q in candidate_signals(s)]
    current = np.array([SIGNAL_WEIGHTS[s] for s in SIGNALS])
    held_out = np.zeros(len(questions), bool)
    groups = [q["article"] for q in questions]
    for train, test in GroupKFold(opts.folds).split(questions, groups=groups):
        weights = fit([questions[i] for i in train])
        for i in test:
            held_out[i] = questions[i]["gold"][int(np.argmax(questions[i]["signals"] @ weights))]
    refitted = fit(questions)
    print(f"{len(questions)} questions with a gold and a non-gold candidate sentence ({', '.join(s.name for s in sets)})")
    print(f"{'top-1':38} " + " ".join(f"{s.name:>10}" for s in sets) + f" {'all':>10}")
    rows = {
        "weights in the code (in-fold)": [q["gold"][int(np.argmax(q["signals"] @ current))] for q in questions],
        f"{opts.folds}-fold CV grouped by article": list(held_out),
        "refitted on all (in-fold)": [q["gold"][int(np.argmax(q["signals"] @ refitted))] for q in questions],
    }
    for name, hits in rows.items():
        per_set = [np.mean([h for h, q in zip(hits, questions) if q["set"] == s.name]) for s in sets]
        print(f"{name:38} " + " ".join(f"{v:>10.3f}" for v in per_set) + f" {np.mean(hits):>10.3f}")
    print("refitted on all:", json.dumps({s: round(float(w), 2) for s, w in zip(SIGNALS, refitted)}))


if __name__ == "__main__":
    main()
