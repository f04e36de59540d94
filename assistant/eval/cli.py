"""`assistant eval`: run scripted questions against a corpus and report retrieval, answer and refusal metrics.

Only the command's arguments are here: `assistant --help` and the other commands start without importing what an
evaluation needs (the index, the models, the report), which assistant/eval/command.py holds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

CACHE_DIR_ENV = "ASSISTANT_EVAL_CACHE_DIR"
# Exit statuses a CI job can tell apart: 0 passed, 1 a metric outside its bound (GateFailed), 2 the run could not
# happen or finish (a bad file, option or corpus: as for a usage error), 130 / 143 stopped by Ctrl-C / SIGTERM.
EXIT_NOT_RUN = 2


def register(app: typer.Typer, run: Callable) -> None:
    @app.command("eval")
    def eval_command(
        questions: Annotated[
            Path,
            typer.Argument(
                help="Questions: JSONL (id, question, answers, article, answerable; task, highlights, scope for "
                "summary lines), CSV (question,answer) or SQuAD's JSON (v1.1 or v2.0, with its articles)."
            ),
        ],
        corpus: Annotated[Path | None, typer.Option(
            help="Folder of articles; indexed on its own, apart from your index. A SQuAD file needs none: its "
            "articles are used.")] = None,
        backend: Annotated[str | None, typer.Option(help="Answer backend (default from settings).")] = None,
        k: Annotated[int | None, typer.Option(help="Passages to retrieve (default from settings).")] = None,
        limit: Annotated[int | None, typer.Option(min=1, help="Only the first N questions.")] = None,
        out_dir: Annotated[Path, typer.Option("--out", help="Where results.jsonl, summary.json, report.html go.")] = Path(
            "eval-out"
        ),
        compare_to: Annotated[
            Path | None,
            typer.Option("--compare", help="An earlier summary.json: each metric's change (printed, and in the files)."),
        ] = None,
        fail_under: Annotated[
            list[str] | None, typer.Option(help="METRIC=VALUE floor: exit 1 if below (repeatable; 2 means the run could not happen).")
        ] = None,
        fail_over: Annotated[
            list[str] | None,
            typer.Option(help="METRIC=VALUE ceiling, for lower-is-better metrics: exit 1 if above (repeatable)."),
        ] = None,
        ragas: Annotated[
            Path | None, typer.Option(help="Also write question/answer/contexts/ground_truth JSONL here.")
        ] = None,
        cache_dir: Annotated[
            Path | None,
            typer.Option(envvar=CACHE_DIR_ENV, help="Cache of corpus indexes (default ~/.cache/article-assistant/eval)."),
        ] = None,
        collection: Annotated[
            str | None,
            typer.Option(help="Each top-level folder of the corpus is a collection of its name; ask every question "
                         "within this one, as a key scoped to it would (the others' articles are indexed too)."),
        ] = None,
        resume: Annotated[
            bool,
            typer.Option("--resume", help="Go on with the run stopped (Ctrl-C, SIGTERM) in --out: ask only the "
                         "questions it had not answered, with the same questions, corpus and settings."),
        ] = False,
    ):
        """Evaluate answers on scripted questions; writes results.jsonl, summary.json and report.html."""

        def go():
            from .command import evaluate

            evaluate(questions, corpus, backend=backend, k=k, limit=limit, out_dir=out_dir, compare_to=compare_to,
                     fail_under=fail_under, fail_over=fail_over, ragas=ragas, cache_dir=cache_dir,
                     collection=collection, resume=resume)

        run(go, error_code=EXIT_NOT_RUN)
