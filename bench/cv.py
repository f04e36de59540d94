"""Article-grouped cross-validation of the refusal threshold: the in-fold figure beside the held-out one.

The extractive backend refuses when its best sentence's support is under ``refusal_threshold`` (0.33,
chosen on xquad-dev), or when one of its other checks fails. This asks every question once with the
threshold at 0, recording each question's support, whether another check refused it, and whether the
answer holds a gold; any threshold's outcome follows from those without asking again. Then, fold by
fold (k-fold grouped by article, so no article is both fitted and scored on), the threshold that
maximises ``str_em + refusal_recall - 2 * false_refusal_rate`` on the other folds is scored on the
held-out fold, and compared with the fixed 0.33 on the same folds.

    .venv/bin/python bench/cv.py [--set xquad-dev --set ../bench/newsdev] [--folds 5]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.eval.corpus import default_cache_root, open_eval_index  # noqa: E402
from assistant.eval.metrics import contains_answer, strip_citation_markers  # noqa: E402
from assistant.eval.questions import load_questions  # noqa: E402
from assistant.settings import load_settings  # noqa: E402

EVALDATA = ROOT.parent / "shared" / "evaldata"
SHIPPED = 0.33
GRID = np.round(np.arange(0.20, 0.50, 0.01), 2)


@dataclass(frozen=True)
class Row:
    article: str
    answerable: bool
    support: float
    other_refusal: bool  # refused by a check other than support
    correct: bool  # the answer (if given) holds a gold


def collect(set_dir: Path) -> list[Row]:
    settings = load_settings(refusal_threshold=0.0)
    assistant = open_eval_index(set_dir / "articles", settings, default_cache_root()).assistant
    rows = []
    for q in load_questions(set_dir / "questions.jsonl"):
        if q.task != "factoid":
            continue
        answer = assistant.ask(q.question)
        rows.append(Row(
            article=f"{set_dir.name}/{q.article or q.id}",  # an unanswerable question may name no article
            answerable=q.answerable,
            support=answer.support if answer.support is not None else 0.0,
            other_refusal=answer.refused,
            correct=(not answer.refused) and q.answerable and contains_answer(strip_citation_markers(answer.answer), q.answers),
        ))
    return rows


def figures(rows: list[Row], threshold: float) -> dict[str, float]:
    answerable = [r for r in rows if r.answerable]
    unanswerable = [r for r in rows if not r.answerable]
    refused = lambda r: r.other_refusal or r.support < threshold  # noqa: E731
    return {
        "str_em": float(np.mean([r.correct and not refused(r) for r in answerable])) if answerable else float("nan"),
        "refusal_recall": float(np.mean([refused(r) for r in unanswerable])) if unanswerable else float("nan"),
        "false_refusal_rate": float(np.mean([refused(r) for r in answerable])) if answerable else float("nan"),
    }


def objective(f: dict[str, float]) -> float:
    return f["str_em"] + np.nan_to_num(f["refusal_recall"]) - 2 * f["false_refusal_rate"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", help="question sets under shared/evaldata (or a path)")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    sets = [Path(s) if "/" in s else EVALDATA / s for s in (args.set or ["xquad-dev", str(ROOT / "bench" / "newsdev")])]
    rows = [row for s in sets for row in collect(s)]
    groups = [r.article for r in rows]
    held_out, shipped, chosen = [], [], []
    for train, test in GroupKFold(n_splits=args.folds).split(rows, groups=groups):
        fit = [rows[i] for i in train]
        best = max(GRID, key=lambda t: objective(figures(fit, t)))
        chosen.append(float(best))
        held_out.append(figures([rows[i] for i in test], best))
        shipped.append(figures([rows[i] for i in test], SHIPPED))

    def mean(figs):
        return {k: round(float(np.nanmean([f[k] for f in figs])), 3) for k in figs[0]}

    print(f"{len(rows)} factoid questions, {len(set(groups))} articles, {args.folds} folds grouped by article "
          f"({', '.join(s.name for s in sets)})")
    print(f"in-fold, threshold {SHIPPED} fitted on all of xquad-dev:  {figures(rows, SHIPPED)}")
    print(f"held-out, {SHIPPED} on each fold:                       {mean(shipped)}")
    print(f"held-out, threshold refitted on the other folds:      {mean(held_out)}  (chosen: {chosen})")


if __name__ == "__main__":
    main()
