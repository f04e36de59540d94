"""Overviews against the Lead-3 baseline on a summary set, side by side, scored as `assistant eval` scores them.

    .venv/bin/python -m bench.overview_baselines [--set DIR] [--limit N] [--cache-dir DIR]

DIR holds questions.jsonl (summary lines: task "summary", scope, highlights) and articles/ (default:
../shared/evaldata/cnn-summary-dev). The corpus index is the eval's own, cached (assistant.eval.corpus).

Rows:
- Lead-3: the scoped article's first three sentences, taken from the indexed (cleaned) article text
  (`assistant.article(id).text`) and split with `assistant.text.split_sentences`. Its sentences all come from
  the scoped article, so its article_precision is 1 by construction.
- Lead-3, no dateline: the same sentences without an opening news dateline ("(CNN) -- ", "Beirut (CNN) -- ").
- assistant: whatever `assistant.ask(question, filters=<the scoped article>)` returns for each line, with the
  settings of the environment (ASSISTANT_BACKEND, ...).

Both rows go through the same scoring as `assistant eval` (assistant/eval/summary_metrics.py): ROUGE-1/2/Lsum
F1 (rouge-score, stemmed; the prediction split into sentences on end punctuation for Lsum) against the
highlights joined by newlines, a refusal scoring 0; words median; article_precision; refusals.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assistant.errors import AssistantError
from assistant.eval.corpus import default_cache_root, open_eval_index
from assistant.eval.questions import load_questions
from assistant.eval.records import EvalQuestion, QuestionResult
from assistant.eval.runner import ask_one
from assistant.eval.scopes import check_scopes, ids_by_file_name, target_article_id
from assistant.eval.summary_metrics import overview_outcome, summarise_overviews
from assistant.settings import load_settings
from assistant.text import dateline_length, split_sentences

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SET = ROOT.parent / "shared" / "evaldata" / "cnn-summary-dev"
LEAD_SENTENCES = 3


def lead(text: str, n: int = LEAD_SENTENCES, cleaned: bool = False) -> list[str]:
    """The first ``n`` sentences of an article text; ``cleaned``: without an opening "(CNN) -- " dateline."""
    sentences = [text[start:end].strip() for start, end in split_sentences(text)[:n]]
    return [s[dateline_length(s):] for s in sentences] if cleaned else sentences


def lead_result(assistant, question: EvalQuestion, article_id: str, cleaned: bool = False) -> QuestionResult:
    """Lead-3 as a result the eval scores: one citation of the article per sentence."""
    sentences = lead(assistant.article(article_id).text, cleaned=cleaned)
    result = QuestionResult(
        id=question.id, question=question.question, gold=[], article=question.article, answerable=True,
        answer=" ".join(sentences), citations=[{"article_id": article_id} for _ in sentences],
        task=question.task, highlights=list(question.highlights), scope=question.scope,
        target_article_id=article_id,
    )
    result.outcome = overview_outcome(result)
    return result


def row(name: str, results: list[QuestionResult]) -> list[str]:
    s = summarise_overviews(results)
    refused = round(s["refusal_rate"] * s["n"])

    def x100(value):
        return "n/a" if value is None else f"{100 * value:.1f}"

    words = "n/a" if s["words_median"] is None else f"{s['words_median']:g}"
    precision = "n/a" if s["article_precision"] is None else f"{s['article_precision']:.3f}"
    return [name, x100(s["rouge1"]), x100(s["rouge2"]), x100(s["rougeLsum"]), words, precision, f"{refused}/{s['n']}"]


def print_table(rows: list[list[str]]) -> None:
    header = ["system", "ROUGE-1", "ROUGE-2", "ROUGE-Lsum", "words median", "article_precision", "refused"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="folder with questions.jsonl and articles/")
    parser.add_argument("--limit", type=int, default=None, help="only the first N summary lines")
    parser.add_argument("--cache-dir", type=Path, default=None, help="eval index cache (default as `assistant eval`)")
    args = parser.parse_args(argv)
    try:
        questions_file = args.set / "questions.jsonl"
        questions = [q for q in load_questions(questions_file) if q.is_summary][: args.limit]
        if not questions:
            raise AssistantError(f"{questions_file}: no summary lines")
        index = open_eval_index(args.set / "articles", load_settings(), args.cache_dir or default_cache_root())
        assistant = index.assistant
        ids = ids_by_file_name(assistant)
        check_scopes(questions_file, questions, ids)
        missing = [q for q in questions if target_article_id(q, ids) is None]
        if missing:
            raise AssistantError(f"{questions_file}, line {missing[0].line}: names no article of the corpus")
        assistant.warm_up()
        leads = [lead_result(assistant, q, target_article_id(q, ids)) for q in questions]
        cleaned = [lead_result(assistant, q, target_article_id(q, ids), cleaned=True) for q in questions]
        answers = [ask_one(assistant, q, ids) for q in questions]
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    state = "reused" if index.cached else f"built in {index.ingest_s:.1f} s"
    print(f"{len(questions)} summary lines of {questions_file}; corpus index {state}; "
          f"backend {assistant.settings.backend}\n")
    print_table([row(f"Lead-{LEAD_SENTENCES}", leads), row(f"Lead-{LEAD_SENTENCES}, no dateline", cleaned),
                 row("assistant", answers)])
    print("\nROUGE F1 x100 (rouge-score, stemmed; Lsum over sentences split on end punctuation); a refusal scores 0.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
