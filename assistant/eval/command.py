"""What `assistant eval` does once its arguments are read: check them, index the corpus, ask, score, write the
files, print the summary and apply the gates."""

from __future__ import annotations

import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ..core import article_files
from ..errors import InvalidRequest
from ..settings import Settings, load_settings
from ..terminal import DataConsole
from .corpus import EvalIndex, default_cache_root, folder_collections, open_eval_index
from .gates import check_gates, parse_gates
from .metrics import METRICS, run_counts, summarise
from .outputs import (
    REPORT_FILE,
    RESULTS_FILE,
    SUMMARY_FILE,
    MetricChange,
    changed_settings,
    compare,
    compare_record,
    format_metric,
    load_summary,
    questions_digest,
    read_results,
    run_info,
    settings_used,
    write_json,
    write_ragas,
    write_result_line,
)
from .questions import load_question_file
from .records import EvalQuestion, QuestionResult
from .report import write_report
from .runner import RunResults, ask_all
from .scopes import check_articles, check_scopes, files_by_name, golds_not_in_their_article, ids_by_file_name
from .squad import SquadFile, corpus_folder
from .summary_metrics import SUMMARY_METRICS, SUMMARY_PREFIX, summarise_overviews

console = DataConsole(stderr=True)
out = DataConsole()

EXIT_INTERRUPTED = 130  # the shell's code for "stopped by Ctrl-C"
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143: stopped by SIGTERM (a CI job's timeout or cancel, `kill`)


@contextmanager
def _sigterm_as_ctrl_c(received: list[int]) -> Iterator[None]:
    """SIGTERM while the questions are asked is taken as Ctrl-C is (the runner keeps those that finished, and
    they are scored and written); ``received`` says it came."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set a handler
        yield
        return

    def stop(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def evaluate(questions: Path, corpus: Path | None, *, backend: str | None, k: int | None, limit: int | None, out_dir: Path,
             compare_to: Path | None, fail_under: list[str] | None, fail_over: list[str] | None, ragas: Path | None,
             cache_dir: Path | None, collection: str | None, resume: bool = False) -> None:
    """`assistant eval` with its options (see assistant/eval/cli.py): ingest the corpus, ask, score, write, gate."""
    # Everything that can be wrong with the arguments fails before the (slow) ingest and run.
    gates = parse_gates(fail_under or [], fail_over or [])
    previous = load_summary(compare_to) if compare_to else None
    digest = questions_digest(questions) if questions.is_file() else ""
    every, squad = load_question_file(questions, warn=_note)
    planned = every[:limit]
    cache_root = cache_dir or default_cache_root()
    if corpus is None:
        corpus = _corpus_of(questions, squad, cache_root)
    _check_outputs(out_dir, corpus, ragas)
    stopped = _stopped_run(out_dir, digest, corpus, collection, len(planned)) if resume else None
    if corpus.is_dir():  # a scope naming no corpus file fails before the ingest, too
        corpus_files = files_by_name(article_files([corpus]))
        check_scopes(questions, planned, corpus_files)
        check_articles(questions, planned, corpus_files)
        if collection is not None and collection not in folder_collections(corpus):
            raise InvalidRequest("--collection", f"{corpus} has no folder {collection!r} (each top-level "
                                                 "folder of the corpus is a collection)")
    settings = load_settings(backend=backend, top_k=k)
    index = _open_index(corpus, settings, cache_root, by_folder=collection is not None)
    article_ids = ids_by_file_name(index.assistant)
    check_scopes(questions, planned, article_ids)  # e.g. the scoped file could not be ingested
    kept = _resumed(out_dir, stopped, index.assistant.settings, planned) if stopped is not None else None
    astray = golds_not_in_their_article(planned, index.assistant, article_ids)
    if astray:
        shown = ", ".join(f"{f'line {q.line}' if q.line else q.id} ({q.answers[0]!r})" for q in astray[:3])
        _note(f"{len(astray)} answerable question(s) name an article in which none of their answers occurs: "
              f"{shown}{' …' if len(astray) > 3 else ''}; they score 0 whatever is answered")
    terminated: list[int] = []
    with _sigterm_as_ctrl_c(terminated):
        run_results = _ask(index, planned, out_dir, article_ids, collection, kept)

    summary = {
        **summarise(run_results.results, index.ingest_s),
        **run_counts(run_results.results),
        "settings": settings_used(index.assistant.settings),
        **run_info(questions, digest, corpus, run_results.interrupted, index.cached, len(planned)),
        **({"collection": collection} if collection is not None else {}),
    }
    overviews = summarise_overviews(run_results.results)
    if overviews is not None:  # absent (not null) when the file has no summary lines
        summary["summary"] = overviews
    if previous is not None:
        summary["compared_with"] = str(compare_to)
        summary["compare"] = compare_record(compare(summary, previous))
        summary["settings_changed"] = {
            name: {"before": before, "after": now}
            for name, (before, now) in changed_settings(summary, previous).items()
        }
    write_json(out_dir / SUMMARY_FILE, summary)
    write_report(out_dir / REPORT_FILE, summary, run_results.results)
    if ragas:
        write_ragas(ragas, run_results.results, index.assistant.refusal_text)
    _print_summary(summary, previous)
    written = ", ".join(str(out_dir / name) for name in (RESULTS_FILE, SUMMARY_FILE, REPORT_FILE))
    console.print(f"wrote {escape(written)}", highlight=False, soft_wrap=True)
    if run_results.interrupted:
        console.print("[yellow]interrupted:[/yellow] the files cover the questions that finished")
        raise typer.Exit(EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)
    check_gates(summary, gates)



def _note(message: str) -> None:
    console.print(f"[yellow]note:[/yellow] {escape(message)}", highlight=False, soft_wrap=True)


def _corpus_of(questions: Path, squad: SquadFile | None, cache_root: Path) -> Path:
    """Without --corpus: the articles a SQuAD file carries, written out as a folder (see squad.py)."""
    if squad is None:
        raise InvalidRequest("--corpus", "is required: the folder of the articles the questions are about (only a "
                                         "SQuAD JSON file carries its own)")
    return corpus_folder(questions, squad, cache_root)


def _check_outputs(out_dir: Path, corpus: Path, ragas: Path | None) -> None:
    """What the run writes can be written where asked, and not inside the corpus (the next run would read its
    report as an article)."""
    for option, path, folder in (("--out", out_dir, True), ("--ragas", ragas, False)):
        if path is None:
            continue
        if folder and path.exists() and not path.is_dir():
            raise InvalidRequest(option, f"{path} is a file, not a folder")
        if not folder and path.is_dir():
            raise InvalidRequest(option, f"{path} is a folder: name a file")
        above = next((p for p in path.parents if p.exists()), None)
        if above is not None and not above.is_dir():
            raise InvalidRequest(option, f"{path} cannot be written: {above} is a file")
        if corpus.is_dir() and path.resolve().is_relative_to(corpus.resolve()):
            raise InvalidRequest(option, f"{path} is inside --corpus {corpus}: the next run would read what it "
                                         "writes as articles")
        _try_writing(option, path, folder)


def _try_writing(option: str, path: Path, folder: bool) -> None:
    """Tried, not guessed from permissions (root passes every check; /proc refuses anyway), since the run writes
    only after its slow part; what the try made is taken away again, so a refused run leaves nothing."""
    folder_of = path if folder else path.parent
    missing = []
    while not folder_of.exists() and folder_of != folder_of.parent:
        missing.append(folder_of)
        folder_of = folder_of.parent
    made: list[Path] = []
    try:
        for new in reversed(missing):
            new.mkdir()
            made.append(new)
        tempfile.TemporaryFile(dir=path if folder else path.parent).close()
        if not folder and path.exists():
            path.open("ab").close()
    except OSError as exc:
        raise InvalidRequest(option, f"{path} cannot be written ({exc.strerror or exc})") from None
    finally:
        for new in reversed(made):
            new.rmdir()


def _log_progress(what: str, done: int, total: int, said: str = "") -> None:
    """Off a terminal (a CI log, a file) Rich draws no bar: a line at every tenth of the way instead."""
    step = max(1, total // 10)
    if not console.is_terminal and total and (done % step == 0 or done == total) and done:
        console.print(escape(f"{what}: {done}/{total}" + (f" · {said}" if said else "")), highlight=False)


def _open_index(corpus: Path, settings: Settings, cache_root: Path, by_folder: bool = False) -> EvalIndex:
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
        _log_progress("ingest corpus", done, total)

    try:
        index = open_eval_index(corpus, settings, cache_root, on_progress=on_progress, by_folder=by_folder)
    finally:
        if task is not None:  # stopping a Progress prints a newline even if it never started
            progress.stop()
    state = "reused" if index.cached else f"built in {index.ingest_s:.1f} s"
    message = f"corpus index {state}: {index.articles} article(s) in {index.cache_dir}"
    console.print(escape(message), highlight=False, soft_wrap=True)  # soft: a wrapped path cannot be copied
    for path, reason in index.failed:
        console.print(f"[yellow]skipped:[/yellow] {escape(str(path))}: {escape(reason)}", highlight=False, soft_wrap=True)
    return index


def _stopped_run(out_dir: Path, digest: str, corpus: Path, collection: str | None, planned: int) -> dict:
    """--resume: the summary of the run stopped in ``out_dir``, if it asked what this one asks (the settings are
    compared once the index is open)."""
    summary = load_summary(out_dir / SUMMARY_FILE, "--resume")
    if not summary.get("interrupted"):
        raise InvalidRequest("--resume", f"the run in {out_dir} finished: nothing to resume (run without --resume)")
    if not (out_dir / RESULTS_FILE).is_file():
        raise InvalidRequest("--resume", f"{out_dir / RESULTS_FILE}: no such file, so nothing to go on from")
    asked = {"questions_sha256": digest, "corpus": str(corpus.resolve()), "collection": collection,
             "n_questions_planned": planned}  # another --limit: its questions are not the stopped run's
    other = [name for name, value in asked.items() if summary.get(name) != value]
    if other:
        raise InvalidRequest("--resume", f"the run in {out_dir} asked other questions ({', '.join(other)} "
                                         "changed): run without --resume")
    return summary


def _resumed(out_dir: Path, stopped: dict, settings: Settings, planned: list[EvalQuestion]) -> list[QuestionResult]:
    """The stopped run's results for the questions planned, when it ran with these settings."""
    changed = sorted(name for name, value in settings_used(settings).items()
                     if (stopped.get("settings") or {}).get(name) != value)
    if changed:
        raise InvalidRequest("--resume", f"the run in {out_dir} ran with other settings ({', '.join(changed)}): "
                                         "run without --resume")
    wanted = {question.id for question in planned}
    kept = [result for result in read_results(out_dir / RESULTS_FILE) if result.id in wanted]
    console.print(f"resuming: {len(kept)} of {len(planned)} questions were answered; asking the rest",
                  highlight=False)
    return kept


def _ask(index: EvalIndex, questions: list[EvalQuestion], out_dir: Path, article_ids: dict,
         collection: str | None = None, kept: list[QuestionResult] | None = None) -> RunResults:
    """Ask ``questions`` but those ``kept`` answered (a resumed run's; None: not resuming), writing each result as
    it comes."""
    resuming, kept = kept is not None, kept or []
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / RESULTS_FILE
    # The last run's, which would sit beside a killed run's results; a stopped run's stay while it is resumed (its
    # summary is what a run killed meanwhile is resumed from again).
    for stale in (SUMMARY_FILE, REPORT_FILE) if not resuming else ():
        (out_dir / stale).unlink(missing_ok=True)
    done_ids = {result.id for result in kept}
    so_far: dict[str, list[float]] = {"str_em": [], "rouge1": []}  # shown on the bar as the run goes
    with results_path.open("w", encoding="utf-8") as stream, Progress(
        TextColumn("[bold]eval"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(), TextColumn("{task.description}"), console=console, transient=True,
    ) as progress:
        task = progress.add_task("", total=len(questions), completed=len(kept))
        done = len(kept)

        def tally(result: QuestionResult) -> str:
            write_result_line(stream, result)
            for name, values in so_far.items():
                if result.outcome.get(name) is not None:
                    values.append(result.outcome[name])
            return " · ".join(f"{name} {sum(values) / len(values):.3f}" for name, values in so_far.items() if values)

        for result in kept:
            tally(result)

        def on_result(result: QuestionResult) -> None:
            nonlocal done
            shown = tally(result)
            progress.update(task, advance=1, description=shown)
            done += 1
            _log_progress("eval", done, len(questions), shown)

        run = ask_all(index.assistant, [q for q in questions if q.id not in done_ids], on_result=on_result,
                      article_ids=article_ids, collection=collection)
        return RunResults(kept + run.results, run.interrupted)


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
    overviews = summary.get("summary") or {}
    names = [*METRICS, *(SUMMARY_PREFIX + name for name in SUMMARY_METRICS if overviews)]
    for name in names:
        value = overviews.get(name.removeprefix(SUMMARY_PREFIX)) if name.startswith(SUMMARY_PREFIX) else summary.get(name)
        row = [name, format_metric(name, value)]
        if previous:
            row += _change_cells(changes[name]) if name in changes else ["n/a", "", ""]
        table.add_row(*row)
    out.print(table)
    for name, (before, now) in (changed_settings(summary, previous) if previous else {}).items():
        out.print(f"setting changed: {name}: {before} → {now}", highlight=False, markup=False)


def _change_cells(change: MetricChange) -> list[str]:
    delta = format_metric(change.metric, change.delta, signed=True)
    colour = {"better": "green", "worse": "red"}.get(change.verdict)
    return [format_metric(change.metric, change.previous), f"[{colour}]{delta}[/]" if colour else delta, change.verdict]
