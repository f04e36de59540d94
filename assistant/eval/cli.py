"""`assistant eval`: run scripted questions against a corpus and report retrieval, answer and refusal metrics."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ..settings import Settings, load_settings
from .corpus import CACHE_DIR_ENV, EvalIndex, default_cache_root, open_eval_index
from .gates import check_gates, parse_gates
from .metrics import METRICS, run_counts, summarise
from .outputs import (
    MetricChange,
    REPORT_FILE,
    RESULTS_FILE,
    SUMMARY_FILE,
    changed_settings,
    compare,
    format_metric,
    load_summary,
    run_info,
    settings_used,
    write_json,
    write_ragas,
    write_result_line,
)
from .questions import load_questions
from .records import EvalQuestion, QuestionResult
from .report import write_report
from .runner import RunResults, ask_all

console = Console(stderr=True)
out = Console()

EXIT_INTERRUPTED = 130  # the shell's code for "stopped by Ctrl-C"


def register(app: typer.Typer, run: Callable) -> None:
    @app.command("eval")
    def eval_command(
        questions: Annotated[
            Path,
            typer.Argument(help="Questions: JSONL (id, question, answers, article, answerable) or CSV (question,answer)."),
        ],
        corpus: Annotated[Path, typer.Option(help="Folder of articles; indexed on its own, apart from your index.")],
        backend: Annotated[Optional[str], typer.Option(help="Answer backend (default from settings).")] = None,
        k: Annotated[Optional[int], typer.Option(help="Passages to retrieve (default from settings).")] = None,
        limit: Annotated[Optional[int], typer.Option(min=1, help="Only the first N questions.")] = None,
        out_dir: Annotated[Path, typer.Option("--out", help="Where results.jsonl, summary.json, report.html go.")] = Path(
            "eval-out"
        ),
        compare_to: Annotated[
            Optional[Path], typer.Option("--compare", help="An earlier summary.json: print each metric's change.")
        ] = None,
        fail_under: Annotated[
            Optional[list[str]], typer.Option(help="METRIC=VALUE floor: exit 1 if below (repeatable).")
        ] = None,
        fail_over: Annotated[
            Optional[list[str]],
            typer.Option(help="METRIC=VALUE ceiling, for lower-is-better metrics: exit 1 if above (repeatable)."),
        ] = None,
        ragas: Annotated[
            Optional[Path], typer.Option(help="Also write question/answer/contexts/ground_truth JSONL here.")
        ] = None,
        cache_dir: Annotated[
            Optional[Path],
            typer.Option(envvar=CACHE_DIR_ENV, help="Cache of corpus indexes (default ~/.cache/article-assistant/eval)."),
        ] = None,
    ):
        """Evaluate answers on scripted questions; writes results.jsonl, summary.json and report.html."""

        def go():
            # Everything that can be wrong with the arguments fails before the (slow) ingest and run.
            gates = parse_gates(fail_under or [], fail_over or [])
            previous = load_summary(compare_to) if compare_to else None
            planned = load_questions(questions)[:limit]
            settings = load_settings(backend=backend, top_k=k)
            index = _open_index(corpus, settings, cache_dir or default_cache_root())
            run_results = _ask(index, planned, out_dir / RESULTS_FILE)

            summary = {
                **summarise(run_results.results, index.ingest_s),
                **run_counts(run_results.results),
                "settings": settings_used(index.assistant.settings),
                **run_info(questions, corpus, run_results.interrupted, index.cached, len(planned)),
            }
            write_json(out_dir / SUMMARY_FILE, summary)
            write_report(out_dir / REPORT_FILE, summary, run_results.results)
            if ragas:
                write_ragas(ragas, run_results.results, index.assistant.refusal_text)
            _print_summary(summary, previous)
            written = ", ".join(str(out_dir / name) for name in (RESULTS_FILE, SUMMARY_FILE, REPORT_FILE))
            console.print(f"wrote {written}", highlight=False, soft_wrap=True)
            if run_results.interrupted:
                console.print("[yellow]interrupted:[/yellow] the files cover the questions that finished")
                raise typer.Exit(EXIT_INTERRUPTED)
            check_gates(summary, gates)

        run(go)


def _open_index(corpus: Path, settings: Settings, cache_root: Path) -> EvalIndex:
    progress = Progress(
        TextColumn("[bold]ingest corpus"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=console, transient=True,
    )
    task = None

    def on_progress(done: int, total: int, _path: str) -> None:
        nonlocal task
        if task is None:  # shown only when there is something to ingest (not for a cached index or a bad argument)
            progress.start()
            task = progress.add_task("", total=total)
        progress.update(task, completed=done, total=total)

    try:
        index = open_eval_index(corpus, settings, cache_root, on_progress=on_progress)
    finally:
        if task is not None:  # stopping a Progress prints a newline even if it never started
            progress.stop()
    state = "reused" if index.cached else f"built in {index.ingest_s:.1f} s"
    message = f"corpus index {state}: {index.articles} article(s) in {index.cache_dir}"
    console.print(message, highlight=False, soft_wrap=True)  # soft: a wrapped path cannot be copied
    for path, reason in index.failed:
        console.print(f"[yellow]skipped:[/yellow] {path}: {reason}", highlight=False, soft_wrap=True)
    return index


def _ask(index: EvalIndex, questions: list[EvalQuestion], results_path: Path) -> RunResults:
    results_path.parent.mkdir(parents=True, exist_ok=True)
    exact = []  # STR-EM so far, shown on the bar as the run goes
    with results_path.open("w", encoding="utf-8") as stream, Progress(
        TextColumn("[bold]eval"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(), TextColumn("{task.description}"), console=console, transient=True,
    ) as progress:
        task = progress.add_task("", total=len(questions))

        def on_result(result: QuestionResult) -> None:
            write_result_line(stream, result)
            if result.outcome["str_em"] is not None:
                exact.append(result.outcome["str_em"])
            progress.update(task, advance=1, description=f"str_em {sum(exact) / max(1, len(exact)):.3f}")

        return ask_all(index.assistant, questions, on_result=on_result)


def _print_summary(summary: dict, previous: dict | None) -> None:
    """The metrics table; with --compare, each metric's previous value and change too."""
    table = Table(title="eval summary", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    changes = {c.metric: c for c in compare(summary, previous)} if previous else {}
    if previous:
        table.add_column("previous", justify="right")
        table.add_column("Δ", justify="right")
        table.add_column("")
    for name in METRICS:
        row = [name, format_metric(name, summary.get(name))]
        if previous:
            row += _change_cells(changes[name])
        table.add_row(*row)
    out.print(table)
    for name, (before, now) in (changed_settings(summary, previous) if previous else {}).items():
        out.print(f"setting changed: {name}: {before} → {now}", highlight=False)


def _change_cells(change: MetricChange) -> list[str]:
    delta = format_metric(change.metric, change.delta, signed=True)
    colour = {"better": "green", "worse": "red"}.get(change.verdict)
    return [format_metric(change.metric, change.previous), f"[{colour}]{delta}[/]" if colour else delta, change.verdict]
