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

    .venv/bin/python bench/fit_ranker.py [--set xquad-dev] [--folds 5]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.answer.extractive import SIGNAL_WEIGHTS  # noqa: E402
from assistant.eval.corpus import default_cache_root, open_eval_index  # noqa: E402
from assistant.eval.metrics import contains_answer  # noqa: E402
from assistant.eval.questions import load_questions  # noqa: E402
from assistant.settings import load_settings  # noqa: E402

EVALDATA = ROOT.parent / "shared" / "evaldata"
SIGNALS = list(SIGNAL_WEIGHTS)


def candidate_signals(question_set: str) -> list[dict]:
    """Per answerable question: its article, a signals matrix (candidates x SIGNALS), and which candidates hold a gold."""
    settings = load_settings()
    index = open_eval_index(EVALDATA / question_set / "articles", settings, default_cache_root())
    assistant = index.assistant
    ranker = assistant.backend("extractive")
    out = []
    for q in load_questions(EVALDATA / question_set / "questions.jsonl"):
        if not q.answerable:
            continue
        answer = assistant.ask(q.question)  # the passages and standalone question the answer came from
        candidates = ranker.rank(answer.question, answer.passages)
        gold = np.array([contains_answer(c.text, q.answers) for c in candidates], bool)
        if gold.any() and not gold.all():  # nothing to rank otherwise
            signals = np.array([[c.signals[s] for s in SIGNALS] for c in candidates])
            out.append({"article": q.article, "signals": signals, "gold": gold})
    return out


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
    parser.add_argument("--set", default="xquad-dev")
    parser.add_argument("--folds", type=int, default=5)
    opts = parser.parse_args()
    questions = candidate_signals(opts.set)
    current = np.array([SIGNAL_WEIGHTS[s] for s in SIGNALS])
    hits = 0.0
    groups = [q["article"] for q in questions]
    for train, test in GroupKFold(opts.folds).split(questions, groups=groups):
        weights = fit([questions[i] for i in train])
        hits += top1([questions[i] for i in test], weights) * len(test)
    refitted = fit(questions)
    print(f"{len(questions)} questions with a gold and a non-gold candidate sentence")
    print(f"top-1, weights in the code:            {top1(questions, current):.3f}")
    print(f"top-1, {opts.folds}-fold CV grouped by article: {hits / len(questions):.3f}")
    print("refitted on all:", json.dumps({s: round(float(w), 2) for s, w in zip(SIGNALS, refitted)}))


if __name__ == "__main__":
    main()
