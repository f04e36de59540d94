"""`assistant` command line: ingest | sync | ask | chat | list | remove | collections | feeds | serve | mcp | migrate |
feedback (and eval)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import select
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from . import errors
from .eval.cli import register as register_eval
from .terminal import DataConsole, printable, printable_json

app = typer.Typer(
    help="Answer questions about your articles, citing the passages. Settings: ASSISTANT_* variables or assistant.toml.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Article text, titles, file names, feedback and errors are data: nothing printed is read as Rich markup unless a
# print asks for it (markup=True) and escapes what it interpolates.
console = DataConsole(stderr=True, soft_wrap=True, markup=False)
# Piped (to a file, grep, a script), a table keeps whole cells on one line each: at a terminal's 80 columns it
# would cut paths and wrap titles.
out = DataConsole(soft_wrap=True, markup=False, width=None if sys.stdout.isatty() else 100_000)


@app.callback()
def _commands(ctx: typer.Context) -> None:
    said = logging.getLogger("assistant.database")
    # once a process (the command line may be run again in one, as tests do); a server logs it with the rest
    if ctx.invoked_subcommand != "serve" and not any(isinstance(h, _SaidOnStderr) for h in said.handlers):
        said.addHandler(_SaidOnStderr())
        said.setLevel(logging.INFO)


class _SaidOnStderr(logging.Handler):
    """A database brought to this version's schema is said, not done in silence: a process of an older version
    that opens it afterwards refuses it (docs/deployment.md#upgrades)."""

    def emit(self, record: logging.LogRecord) -> None:
        console.print(f"note: {record.getMessage()}", highlight=False)


@contextmanager
def _assistant(command: str, **overrides) -> Iterator:
    """The Assistant, with the index claimed for this command (see assistant.core.claimed)."""
    from .core import claimed
    from .settings import load_settings

    settings = load_settings(**overrides)
    url = f"http://{settings.host}:{settings.port}/" if command == "serve" else None
    with claimed(settings, command, url=url, on_wait=lambda why: console.print(f"waiting: {why}", highlight=False)) as a:
        yield a


def fail(message: str, code: int = 1) -> None:
    console.print(f"[red]error:[/red] {escape(message)}", highlight=False, markup=True)
    raise typer.Exit(code)


def run(fn, error_code: int = 1):
    """Turn AssistantError into a one-line message and a non-zero exit (``error_code``), never a traceback."""
    try:
        return fn()
    except errors.AssistantError as exc:
        fail(str(exc), exc.exit_code or error_code)
    except OSError as exc:  # a file that cannot be written or read at the end of the work (a full disk, say)
        fail(f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc), error_code)


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files or folders (recursive): .txt .md .html .pdf, or http(s) links")],
    collection: Annotated[str | None, typer.Option(
        "--collection", "-c", help="The collection they go in (it must exist; default: a new article goes in "
        "`default`, a known one stays where it is).")] = None,
    prune: Annotated[bool, typer.Option(
        "--prune", help="Mirror the folders given: remove the articles of files no longer in them (deleted, moved "
        "or renamed).")] = False,
):
    """Add articles to the index. Unchanged files are skipped; changed ones replace their old chunks."""
    from .models import Link, link_or_path

    def go():
        sources = [link_or_path(p) for p in paths]  # a malformed link or "" is an error here, never read as a path
        files = [s for s in sources if not isinstance(s, Link)]
        links = [s for s in sources if isinstance(s, Link)]
        _ingest_with_progress(lambda assistant, on_progress: assistant.ingest(
            files, links=links, on_progress=on_progress, collection=collection, prune=prune))

    run(go)


@app.command()
def sync():
    """Read every article's link or file again; replace those whose text changed (a failed fetch or a file no longer there keeps the old copy)."""
    run(lambda: _ingest_with_progress(lambda assistant, on_progress: assistant.sync(on_progress=on_progress)))


class _Stopped(KeyboardInterrupt):
    """SIGTERM (a service manager, `kill`, a CI timeout) during an ingest, taken like Ctrl-C."""


def _stopped(signum, frame) -> None:
    raise _Stopped


def _ingest_with_progress(work) -> None:
    """The ingest with its progress bar. Stopped (Ctrl-C, SIGTERM), it says what stays: each batch of files is
    committed whole, and the same command again skips what is in."""
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        _ingest_shown(work)
    except KeyboardInterrupt as stop:
        console.print("interrupted: the files committed before the stop stay in the index, the rest are not in it; "
                      "the same command again skips the first and does the rest", highlight=False)
        raise typer.Exit(128 + (signal.SIGTERM if isinstance(stop, _Stopped) else signal.SIGINT)) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _ingest_shown(work) -> None:
    with _assistant("ingest") as assistant, Progress(
        TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        TextColumn("{task.description}", markup=False), console=console, transient=True,
    ) as progress:
        task = progress.add_task("", total=None)
        # Without a terminal (a log file, a cron job) the bar is not drawn: a line at each tenth says it goes on.
        tenths_said = [0] if not console.is_terminal else None

        def on_progress(done: int, total: int, path: str) -> None:
            progress.update(task, completed=done, total=total, description=printable(Path(path).name))
            if tenths_said is not None and total >= 20 and done * 10 // total > tenths_said[0] and done < total:
                tenths_said[0] = done * 10 // total
                console.print(f"ingest: {done:,} of {total:,} files ({done * 100 // total}%)", highlight=False)

        report = work(assistant, on_progress)
        if report.added or report.replaced or report.removed:  # the next `serve` or `ask` then starts without building it
            progress.update(task, description="keyword index")
            assistant.save_keyword_index()
    for path, reason in report.failed:
        console.print(f"[red]failed:[/red] {escape(str(path))}: {escape(reason)}", highlight=False, markup=True)
    for article_id in report.removed:
        console.print(f"removed: {article_id}", highlight=False, markup=False)
    console.print(
        f"{report.counts()} ({report.chunks_added} chunks written)",
        highlight=False,
    )
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def ask(
    question: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    backend: Annotated[str | None, typer.Option(help="Answer backend (default from settings).")] = None,
    k: Annotated[int | None, typer.Option(min=1, help="Passages to retrieve.")] = None,
    article: Annotated[list[str] | None, typer.Option(
        help="Only these articles: ids, or prefixes only one id starts with (repeatable).")] = None,
    collection: Annotated[list[str] | None, typer.Option(
        "--collection", "-c", help="Only these collections (repeatable).")] = None,
):
    """Ask one question."""

    def go():
        with _assistant("ask") as assistant:
            filters = _filters(assistant, article, collection)
            _say_if_empty(assistant)
            answer = assistant.ask(question, filters=filters, backend=backend, k=k)
        if as_json:
            print_json(answer.public())  # the API's shape
            return
        _print_answer(answer)

    run(go)


def _print_answer(answer) -> None:
    """An answer for a person: its text, a notice if something degraded, then each citation and its quote."""
    out.print(answer.answer, highlight=False, markup=False)
    if answer.notice:
        console.print(f"[yellow]note:[/yellow] {escape(answer.notice)}", highlight=False, markup=True)
    for c in answer.citations:
        out.print(f"\n[{c.n}] {c.title} ({c.source}, chars {c.start}-{c.end})", highlight=False, markup=False)
        out.print(f"    “{c.quote}”", highlight=False, markup=False)


def _say_if_empty(assistant) -> None:
    """An empty index answers every question with a refusal: say why on stderr, for the user who ran the command
    from another folder (the index is ./index unless ASSISTANT_INDEX_DIR says otherwise)."""
    if not assistant.articles():
        where = Path(assistant.settings.index_dir).resolve()
        console.print(f"note: the index at {where} has no articles; add some with `assistant ingest`, or set "
                      "ASSISTANT_INDEX_DIR to the index you meant", highlight=False)


CHAT_HELP = "Type a question; !new starts over; Ctrl-C stops an answer; exit, quit or Ctrl-D leaves."


@app.command()
def chat(
    backend: Annotated[str | None, typer.Option(help="Answer backend (default from settings).")] = None,
    article: Annotated[list[str] | None, typer.Option(
        help="Only these articles: ids, or prefixes only one id starts with (repeatable).")] = None,
    collection: Annotated[list[str] | None, typer.Option(
        "--collection", "-c", help="Only these collections (repeatable).")] = None,
):
    """A conversation in the terminal: follow-ups ("When?", "Who was his wife?") are read with the earlier turns."""
    from .models import Turn

    def go():
        # A process started with SIGINT ignored (a test runner's worker, a script's background job) passes that on,
        # and Python then never raises KeyboardInterrupt: the chat's Ctrl-C must work wherever it was started from.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with _assistant("chat") as assistant:
            filters = _filters(assistant, article, collection)
            assistant.backend(backend)  # an unknown backend fails now, not at every question
            assistant.warm_up(follow_ups=True)  # a chat is follow-ups
            _converse(assistant, filters)

    def _converse(assistant, filters):
        _say_if_empty(assistant)
        articles = len([a for a in assistant.articles(filters.collections or None)
                        if not filters.article_ids or a.id in filters.article_ids])
        console.print(f"Chatting with {articles} article{'s' * (articles != 1)}. {CHAT_HELP}", highlight=False)
        history: list[Turn] = []
        prompt = _Prompt()
        while True:
            try:
                question = prompt("> ")
            except EOFError:  # input()'s Ctrl-D, where the prompt falls back to it
                question = None
            except KeyboardInterrupt:  # as in a shell or Python's prompt: the line goes, the chat stays
                console.print("\n(exit, quit or Ctrl-D leaves)", highlight=False)
                continue
            if question is None:  # Ctrl-D, or the end of piped input
                console.print()
                return
            question = question.strip()
            if question.lower() in ("exit", "quit"):
                return
            if question == "!new":
                history = []
                console.print("Started over: earlier questions are forgotten.", highlight=False)
                continue
            if not question:
                continue
            try:
                answer = assistant.ask(question, history, filters, backend=backend)
                _print_answer(answer)  # Ctrl-C while it prints (a quick answer) stops it too, never the chat
                out.print()
            except errors.AssistantError as exc:  # a bad question is said, and the conversation goes on
                console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, markup=True)
                continue
            except KeyboardInterrupt:  # the answer is dropped; the conversation so far is kept
                console.print("\n(stopped: that question is not part of the conversation)", highlight=False)
                continue
            history = [*history, Turn(question=question, answer=answer.answer)][-MAX_CHAT_TURNS:]

    run(go)


MAX_CHAT_TURNS = 50  # as /api/ask's history


class _Prompt:
    """input(), but woken by Ctrl-C wherever the kernel delivers it. SIGINT goes to any thread of the process
    (the libraries start several); one that is not this thread left input()'s read waiting, the typed line gone
    with the Ctrl-C (seen in the test suite and reproduced 2 runs in 3). The signal's wakeup byte is watched
    beside stdin, so the wait ends and the KeyboardInterrupt is raised here."""

    def __init__(self):
        self.pending = b""
        self.wake = None
        if os.name == "posix" and threading.current_thread() is threading.main_thread():
            self.wake, wake_w = os.pipe()
            os.set_blocking(self.wake, False)
            os.set_blocking(wake_w, False)
            signal.set_wakeup_fd(wake_w)

    def __call__(self, text: str) -> str | None:
        """The next line, or None at the end of the input."""
        if self.wake is None:
            return input(text)
        sys.stdout.write(text)
        sys.stdout.flush()
        while b"\n" not in self.pending:
            ready = select.select([sys.stdin.fileno(), self.wake], [], [])[0]
            if self.wake in ready:  # a signal: its handler runs as this returns to Python (Ctrl-C raises)
                while os.read(self.wake, 512) == 512:
                    pass
                continue
            chunk = self._read_now(sys.stdin.fileno())
            if chunk is None:  # the Ctrl-C flushed the line select saw: wait again, for it or its signal
                continue
            if not chunk:
                if not self.pending:
                    return None
                self.pending += b"\n"
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode(sys.stdin.encoding or "utf-8", errors="replace").rstrip("\r")

    @staticmethod
    def _read_now(fd: int) -> bytes | None:
        """What ``fd`` holds now, or None if nothing (never a wait a signal cannot end)."""
        blocking = os.get_blocking(fd)
        os.set_blocking(fd, False)
        try:
            return os.read(fd, 4096)
        except BlockingIOError:
            return None
        finally:
            os.set_blocking(fd, blocking)


@app.command("list")
def list_articles(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    collection: Annotated[str | None, typer.Option("--collection", "-c", help="Only this collection's.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many (default: every one).")] = None,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many first: the next page.")] = 0,
):
    """List indexed articles in title order (with the collections each is in); --limit and --offset page through
    them, as the API's do."""

    def go():
        with _assistant("list") as assistant:
            every = assistant.articles(_named(collection))
        articles = every[offset : offset + limit if limit is not None else None]
        if as_json:
            print_json([dataclasses.asdict(a) for a in articles])
            return
        table = Table("title", "published", "chunks", "collections", "source")
        table.add_column("id", no_wrap=True, overflow="ignore")  # whole: `remove` takes it (or a unique prefix)
        for a in articles:
            table.add_row(a.title, a.published or "", str(a.chunks), ", ".join(a.collections), a.source, a.id)
        out.print(table)
        where = f" in {collection}" if collection else ""
        shown = (f"{offset + 1:,}–{offset + len(articles):,} of " if articles else "none of ") if len(articles) < len(every) else ""
        console.print(f"{shown}{len(every):,} article(s){where}", highlight=False)

    run(go)


@app.command()
def remove(
    article_ids: Annotated[list[str], typer.Argument(help="Ids from `assistant list`, or unique prefixes of them")],
    collection: Annotated[str | None, typer.Option(
        "--collection", "-c", help="Only out of this collection: an article another collection holds stays there.")] = None,
):
    """Remove articles (by id, or a prefix of one that no other id shares; see `assistant list`)."""

    def go():
        with _assistant("remove") as assistant:
            known = [a.id for a in assistant.articles(_named(collection))]
            # every id resolved first: one that names no article removes nothing
            resolved = list(dict.fromkeys(_unique_id(given, known) for given in article_ids))
            for article_id in resolved:
                if assistant.remove(article_id, _named(collection)):
                    console.print(f"removed {article_id}", highlight=False)
                else:
                    console.print(f"removed {article_id} from {collection} (another collection holds it)",
                                  highlight=False)

    run(go)


collections_app = typer.Typer(
    help="Collections: named sets of articles. Every index has `default`; an article is in one or more. Keys "
    "scoped to collections (the keys file) see theirs only.", invoke_without_command=True)
app.add_typer(collections_app, name="collections")


@collections_app.callback()
def collections_main(ctx: typer.Context) -> None:
    """`assistant collections` alone lists them."""
    if ctx.invoked_subcommand is None:
        collections_list(as_json=False)


@collections_app.command("list")
def collections_list(as_json: Annotated[bool, typer.Option("--json")] = False):
    """The collections, with their article and chunk counts."""

    def go():
        with _assistant("collections") as assistant:
            listed = assistant.collections()
        if as_json:
            print_json([dataclasses.asdict(c) for c in listed])
            return
        table = Table("collection", "articles", "chunks", "created")
        for c in listed:
            table.add_row(c.name, str(c.articles), str(c.chunks), c.created_at)
        out.print(table)

    run(go)


@collections_app.command("create")
def collections_create(name: Annotated[str, typer.Argument(help="Letters, digits, '.', '_' or '-' (1 to 64).")]):
    """Create an empty collection (the index's second one first copies its vectors into per-collection parts)."""

    def go():
        with _assistant("collections") as assistant:
            assistant.create_collection(name)
        console.print(f"created {name}", highlight=False)

    run(go)


@collections_app.command("rename")
def collections_rename(name: str, new_name: str):
    """Rename a collection (its articles stay; change keys and feeds that name it too)."""

    def go():
        with _assistant("collections") as assistant:
            assistant.rename_collection(name, new_name)
        console.print(f"renamed {name} to {new_name}", highlight=False)

    run(go)


@collections_app.command("remove")
def collections_remove(
    name: str,
    force: Annotated[bool, typer.Option("--force", help="Remove it although it holds articles.")] = False,
):
    """Remove a collection. One that holds articles needs --force: its articles in no other collection leave the
    index, the others stay in theirs."""

    def go():
        with _assistant("collections") as assistant:
            removed, kept = assistant.remove_collection(name, force=force)
        console.print(f"removed {name}: {len(removed)} article(s) removed from the index, {len(kept)} kept "
                      "(another collection holds them)", highlight=False)
        for article_id in removed:
            console.print(f"  removed {article_id}", highlight=False)

    run(go)


def _filters(assistant, article: list[str] | None, collection: list[str] | None):
    """--article (ids, or prefixes only one id starts with, as `remove` takes) and --collection as Filters."""
    from .models import Filters, collection_name

    known = [a.id for a in assistant.articles()] if article else []
    ids = tuple(_unique_id(given, known, "--article") for given in article or ())
    names = tuple(collection_name(name, "--collection") for name in collection or ())
    return assistant.scoped(Filters(article_ids=ids, collections=names), None, field="--collection")


def _named(collection: str | None) -> list[str] | None:
    """--collection as a list of one (None: every collection). An empty one is an error, never "all": an unset
    shell variable must not turn `remove --collection "$DESK"` into a removal from the whole index."""
    from .models import collection_name

    return None if collection is None else [collection_name(collection, "--collection")]


def _unique_id(given: str, known: list[str], field: str = "article_id") -> str:
    if given in known:
        return given
    matches = [k for k in known if k.startswith(given)] if given else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise errors.ArticleNotFound(given, field)
    raise errors.InvalidRequest(field, f"{given!r} is the start of {len(matches)} ids ({', '.join(matches[:5])}); "
                                "give more of it")


feeds_app = typer.Typer(
    help="RSS and Atom feeds the server polls: new and changed items land in a collection by themselves.",
    no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")


def _feeds():
    """The feeds alone: adding, listing and removing them needs no model and does not wait for a server holding the
    index (the server picks a change up at its next look)."""
    from .feeder import Feeds
    from .settings import load_settings

    return Feeds(load_settings())


@feeds_app.command("add")
def feeds_add(
    url: Annotated[str, typer.Argument(help="The feed's link (RSS or Atom).")],
    collection: Annotated[str, typer.Option("--collection", "-c", help="Where its items go (it must exist).")] = "default",
    every: Annotated[str, typer.Option(help="How often it is polled: 30m, 1h, 1h30m, 45s.")] = "30m",
    prune: Annotated[bool, typer.Option("--prune", help="Take items that leave the feed out of the collection.")] = False,
):
    """Follow a feed: a running server polls it every --every (with conditional requests), its items fetched as any
    link is, or read from the feed's own full text; items that leave the feed are kept unless --prune."""
    from .models import format_every, parse_every

    def go():
        try:
            feed = _feeds().add(url, collection, parse_every(every, "--every"), prune=prune)
        except errors.CollectionNotFound as exc:  # named as the command line's option, as `ask -c` names it
            raise errors.CollectionNotFound(exc.name, "--collection") from None
        console.print(f"feed {feed.id}: {feed.url} into {feed.collection}, every {format_every(feed.every_s)}"
                      f"{', pruned' if feed.prune else ''}; a running server polls it at its next look "
                      "(`assistant feeds poll` polls now)", highlight=False)

    run(go)


@feeds_app.command("list")
def feeds_list(as_json: Annotated[bool, typer.Option("--json")] = False):
    """The feeds, each with its last poll and its error."""
    from .models import format_every

    def go():
        feeds = _feeds().list()
        if as_json:
            print_json([dataclasses.asdict(f) for f in feeds])
            return
        table = Table("id", "feed", "collection", "every", "last polled", "last poll")
        for f in feeds:
            said = f"[red]error:[/red] {escape(f.last_error)}" if f.last_error else escape(f.last_report or "not yet")
            table.add_row(str(f.id), f.url, f.collection, format_every(f.every_s) + (", prune" if f.prune else ""),
                          f.last_polled_at or "never", out.render_str(said, markup=True))
        out.print(table)
        failing = sum(1 for f in feeds if f.last_error)
        console.print(f"{len(feeds)} feed(s)" + (f", {failing} with an error" if failing else ""), highlight=False)

    run(go)


@feeds_app.command("remove")
def feeds_remove(feed: Annotated[str, typer.Argument(help="The feed's id or link (`assistant feeds list`).")]):
    """Stop following a feed (the articles it brought stay)."""

    def go():
        removed = _feeds().remove(feed)
        console.print(f"removed feed {removed.id}: {removed.url}", highlight=False)

    run(go)


@feeds_app.command("poll")
def feeds_poll(feed: Annotated[str | None, typer.Argument(help="Only this feed (id or link), due or not.")] = None):
    """Poll now: the feeds that are due (or the one named), as a server does; exits 1 if a feed failed."""

    def go():
        with _assistant("feeds") as assistant:
            polled = [assistant.poll_feed(feed, force=True)] if feed else assistant.poll_due_feeds()
        failed = False
        for f in polled:
            if f is None:
                console.print("another process is polling it now", highlight=False)
                continue
            failed |= bool(f.last_error)
            console.print(f"{escape(f.url)}: " + (f"[red]error:[/red] {escape(f.last_error)}" if f.last_error
                                                   else escape(f.last_report or "")), highlight=False, markup=True)
        if not polled:
            console.print("no feed is due", highlight=False)
        if failed:
            raise typer.Exit(1)

    run(go)


@app.command()
def serve(
    port: Annotated[int | None, typer.Option(help="Port (default 7860).")] = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    seed: Annotated[Path | None, typer.Option(
        help="Ingest this folder first if the index is empty.", exists=True, file_okay=False)] = None,
):
    """Serve the chat page (and the HTTP API and widget) on http://HOST:PORT/."""

    def go():
        from .settings import load_settings
        from .web.app import check_can_serve, configure_logging
        from .web.app import serve as serve_app

        settings = load_settings(port=port, host=host)
        if seed is not None:
            check_can_serve(settings)  # before --seed writes to the index (serve_app checks again, for Python callers)
        configure_logging(settings.log_level)  # the index's opening logs too
        with _assistant("serve", port=port, host=host) as assistant:
            if seed is not None and assistant.is_empty():
                console.print(f"index is empty: ingesting {seed}")
                report = assistant.ingest([seed])
                for path, reason in report.failed:
                    console.print(f"[red]failed:[/red] {escape(str(path))}: {escape(reason)}", highlight=False, markup=True)
            serve_app(assistant)

    run(go)


@app.command()
def mcp():
    """Serve the tools (ask, search, list_articles, list_collections, get_article, ingest) to an MCP client on stdin/stdout."""

    def go():
        from .web.mcp_server import exit_if_warming_up, run_stdio

        with _assistant("mcp") as assistant:
            run_stdio(assistant)
        exit_if_warming_up()

    run(go)


@app.command()
def migrate():
    """Bring the index manifest and the conversation store to the newest schema now (servers also do it when they
    start); prints where each is and its revision. Safe to run while replicas serve: it only ever adds."""

    def go():
        from .core import migrate_databases
        from .settings import load_settings

        for what, where, revision in migrate_databases(load_settings()):
            out.print(f"{what}: {where} at {revision}", highlight=False)

    run(go)


@app.command()
def backends():
    """List the answer backends."""
    from .registry import BACKENDS

    for name in BACKENDS.names():
        out.print(name)


feedback_app = typer.Typer(help="Thumbs up/down given on answers (chat page, widget, POST /api/feedback).",
                           no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")


def _feedback_store():
    """The store alone: reading feedback needs no model and does not wait for a server holding the index."""
    from .settings import load_settings
    from .store import open_store

    return open_store(load_settings()).feedback


@feedback_app.command("list")
def feedback_list(
    as_json: Annotated[bool, typer.Option("--json", help="Every field, one JSON object per line.")] = False,
    rating: Annotated[str | None, typer.Option(help="Only 'up' or 'down'.")] = None,
):
    """Feedback on answers, oldest first: rating, question, answer, comment."""

    def go():
        if rating not in (None, "up", "down"):
            raise errors.InvalidRequest("--rating", f"must be up or down, not {rating!r}")
        records = _feedback_store().all(rating)
        if as_json:
            for record in records:
                print(printable_json(record.model_dump_json()))
            return
        table = Table("when", "rating", "question", "answer", "comment")
        for r in records:
            table.add_row(r.created_at.strftime("%Y-%m-%d %H:%M"), "👍 up" if r.rating == "up" else "👎 down",
                          r.question, r.answer.answer, r.comment)
        out.print(table)
        console.print(f"{len(records)} feedback record(s)")

    run(go)


@feedback_app.command("export")
def feedback_export(
    out_file: Annotated[Path, typer.Option("--out", help="The questions file to write (.jsonl).")],
):
    """Write feedback as an `assistant eval` questions file: thumbs-up answers as regression cases (their cited
    passages the gold), thumbs-down ones marked "review" (judged wrong: answerable false until someone writes the
    right answer)."""

    def go():
        from .store.feedback import export_questions

        done = export_questions(_feedback_store().all(), out_file)
        console.print(f"wrote {done.written} question(s) to {out_file}: {done.regression} regression case(s), "
                      f"{done.review} marked for review", highlight=False)
        if done.left_out:
            console.print(f"left out {len(done.left_out)} thumbs-down on a refusal (no gold answer yet): "
                          + "; ".join(repr(r.question) for r in done.left_out[:5]), highlight=False)

    run(go)


register_eval(app, run)


def print_json(value) -> None:
    """``--json`` output: UTF-8 as it is, or escaped (``\\u00fc``) where stdout cannot take it, never "?"."""
    unicode = (sys.stdout.encoding or "").lower().replace("-", "") in ("utf8", "utf8sig")
    print(printable_json(json.dumps(value, indent=2, ensure_ascii=not unicode)))


def main() -> None:  # console-script entry point
    for stream in (sys.stdout, sys.stderr):  # a terminal that cannot show "ü" (LC_ALL=C) gets "?", not a traceback
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    app(prog_name="assistant")


if __name__ == "__main__":
    sys.exit(main())
