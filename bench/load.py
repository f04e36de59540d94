"""Load test of the HTTP API on 127.0.0.1: concurrent askers while an upload is ingested, or a memory soak.

    .venv/bin/python -m bench.load                          # 50 clients for 60 s, 40 articles uploaded meanwhile
    .venv/bin/python -m bench.load --clients 8 --duration 15
    .venv/bin/python -m bench.load --soak 600               # 10 clients for 10 min, no upload: server memory
    .venv/bin/python -m bench.load --url http://127.0.0.1:7860 --key ADMIN-KEY   # an already running server

By default the bench starts its own server (`assistant serve` in a subprocess, on a free port of
127.0.0.1) over a fresh index in a temp dir that holds the seed articles and xquad-dev's articles,
with a random admin key and `ASSISTANT_API_RATE_PER_MINUTE` raised so that the per-key rate limit
(60/min by default) does not turn the load into 429s. Other `ASSISTANT_*` variables (the backend...)
pass through. The server and its temp dir are removed at the end, also on Ctrl-C.

Each client loops POST /api/ask with questions drawn from xquad-dev and the seed set (or, with
--distinct N, the questions in a fixed shuffled order from the Nth on, none asked twice), until the
duration is over (requests in flight then still complete). Timeouts, connection errors, non-2xx
answers and 200s whose body is not an answer ({answer, citations, refused}) are errors. A few
seconds in, one POST /api/articles uploads synthetic articles (the ingest runs in the same server:
a second process writing the index would be refused); when it is done, questions about uploaded
articles must be answered from them. The server's memory (VmRSS) is sampled throughout.

Exits 1 on any error, a failed upload or an uploaded article that is not answerable.
--url only accepts 127.0.0.1 or localhost: this is a bounded local test, never one of someone else's servers.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.load_articles import SyntheticArticle, synthetic_articles
from bench.load_report import failures, plot_rss, print_report, summarise
from bench.load_server import BENCH_RATE_PER_MINUTE, OwnServer, check_local, rss_mb, wait_ready

ROOT = Path(__file__).resolve().parent.parent
EVALDATA = ROOT.parent / "shared" / "evaldata"
DEFAULT_CORPUS = [ROOT / "seeds", EVALDATA / "xquad-dev" / "articles"]
DEFAULT_QUESTIONS = [EVALDATA / "xquad-dev" / "questions.jsonl", EVALDATA / "seed" / "questions.jsonl"]
OUT = ROOT / "bench" / "out"
CITATION_FIELDS = {"n", "article_id", "title", "source", "quote", "start", "end", "score"}


# --- the server ---------------------------------------------------------------------------------


# --- questions and articles ---------------------------------------------------------------------


def load_questions(paths: list[Path]) -> list[str]:
    questions = []
    for path in paths:
        if not path.exists():
            print(f"note: question file {path} does not exist; skipped", file=sys.stderr)
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                questions.append(json.loads(line)["question"])
    if not questions:
        raise SystemExit("no questions: pass --questions FILE (JSONL with a 'question' field)")
    return questions


# --- the load -----------------------------------------------------------------------------------


@dataclass
class Result:
    start: float  # seconds since the load started
    end: float
    outcome: str  # "ok" or an error kind
    refused: bool = False


def distinct_order(questions: list[str], seed: int, start: int) -> Iterator[str]:
    """The questions in one shuffled order for ``seed``, from the ``start``th on: a run that goes on from where the
    last one stopped asks none of its questions again until all have been asked."""
    order = questions[:]
    random.Random(seed).shuffle(order)
    start %= len(order)
    return itertools.cycle(order[start:] + order[:start])


@dataclass
class Run:
    url: str
    headers: dict[str, str]
    clients: int
    duration: float
    questions: list[str]
    timeout: float
    pid: int | None
    alive: Callable[[], bool]
    sample_every: float
    articles: list[SyntheticArticle] = field(default_factory=list)
    ingest_after: float = 5.0
    results: list[Result] = field(default_factory=list)
    error_examples: dict[str, str] = field(default_factory=dict)
    rss_samples: list[tuple[float, float]] = field(default_factory=list)
    ingest: dict = field(default_factory=dict)
    server_died: str | None = None
    distinct: Iterator[str] | None = None  # --distinct: the questions not yet asked, in order

    def question(self, rng: random.Random) -> str:
        return next(self.distinct) if self.distinct is not None else rng.choice(self.questions)


def answer_problem(body) -> str | None:
    """Why a 200 body is not an answer, or None."""
    if not isinstance(body, dict) or not isinstance(body.get("answer"), str) or not body["answer"].strip():
        return "no answer text"
    if not isinstance(body.get("citations"), list) or not isinstance(body.get("refused"), bool):
        return "no citations list or refused flag"
    for c in body["citations"]:
        if not isinstance(c, dict) or not CITATION_FIELDS <= c.keys():
            return f"citation without {sorted(CITATION_FIELDS - set(c))}"
    if not body["refused"] and not body["citations"]:
        return "an answer without citations"
    return None


async def ask_once(client: httpx.AsyncClient, run: Run, question: str, t0: float) -> Result:
    started = time.perf_counter() - t0
    refused = False
    try:
        response = await client.post("/api/ask", json={"question": question}, headers=run.headers, timeout=run.timeout)
    except httpx.TimeoutException as exc:
        outcome, detail = "timeout", f"{type(exc).__name__} after {run.timeout:.0f} s: {question!r}"
    except httpx.TransportError as exc:
        outcome, detail = f"connection ({type(exc).__name__})", str(exc) or type(exc).__name__
    else:
        if response.status_code != 200:
            outcome, detail = f"http {response.status_code}", response.text[:300]
            if response.status_code == 429:  # an external server's rate limit: wait as told, do not hammer it
                await asyncio.sleep(min(5.0, float(response.headers.get("retry-after", "1") or 1)))
        else:
            try:
                body = response.json()
            except ValueError:
                body = None
            problem = answer_problem(body)
            if problem:
                outcome, detail = "invalid body", f"{problem}: {response.text[:300]}"
            else:
                outcome, detail, refused = "ok", "", body["refused"]
    if outcome != "ok":
        run.error_examples.setdefault(outcome, detail)
    return Result(started, time.perf_counter() - t0, outcome, refused)


async def client_loop(client: httpx.AsyncClient, run: Run, rng: random.Random, t0: float, stop: asyncio.Event) -> None:
    deadline = t0 + run.duration
    while time.perf_counter() < deadline and not stop.is_set():
        result = await ask_once(client, run, run.question(rng), t0)
        run.results.append(result)
        if result.outcome.startswith("connection"):
            await asyncio.sleep(0.2)  # a dead server must not turn into a hot loop of errors


async def sampler(run: Run, t0: float, done: asyncio.Event, stop: asyncio.Event) -> None:
    while not done.is_set():
        if not run.alive():
            run.server_died = "the server process exited during the load"
            stop.set()
            return
        value = rss_mb(run.pid)
        if value is not None:
            run.rss_samples.append((round(time.perf_counter() - t0, 1), round(value, 1)))
        try:
            await asyncio.wait_for(done.wait(), run.sample_every)
        except TimeoutError:
            pass


async def call(client: httpx.AsyncClient, method: str, path: str, run: Run, timeout: float | None = None,
               **kwargs) -> httpx.Response:
    """One request that is not part of the measured load (upload, checks, clean-up); waits out a rate limit."""
    for _ in range(12):
        response = await client.request(method, path, headers=run.headers, timeout=timeout or run.timeout, **kwargs)
        if response.status_code != 429:
            break
        await asyncio.sleep(min(5.0, float(response.headers.get("retry-after", "1") or 1)))
    return response


async def upload(client: httpx.AsyncClient, run: Run, t0: float) -> None:
    await asyncio.sleep(run.ingest_after)
    files = [("files", (a.name, a.text.encode(), "text/plain")) for a in run.articles]
    run.ingest.update(articles=len(run.articles), bytes=sum(len(a.text.encode()) for a in run.articles))
    run.ingest["start_s"] = time.perf_counter() - t0
    try:
        response = await call(client, "POST", "/api/articles?wait=true", run, timeout=3600, files=files)
    except httpx.HTTPError as exc:
        run.ingest.update(end_s=time.perf_counter() - t0, ok=False, error=f"{type(exc).__name__}: {exc}")
        return
    run.ingest["end_s"] = time.perf_counter() - t0
    if response.status_code != 200:
        run.ingest.update(ok=False, error=f"http {response.status_code}: {response.text[:300]}")
        return
    report = response.json()
    run.ingest.update(ok=bool(report.get("ok")), added=report.get("added", []),
                      unchanged=len(report.get("unchanged", [])), failed=report.get("failed", []),
                      chunks_added=report.get("chunks_added"),
                      ids=[*report.get("added", []), *report.get("replaced", []), *report.get("unchanged", [])])


async def verify_uploads(client: httpx.AsyncClient, run: Run, count: int = 3) -> list[dict]:
    """Ask about a few uploaded articles: the answer must name the fact and cite that upload."""
    picks = sorted({0, len(run.articles) // 2, len(run.articles) - 1})[:count]
    checks = []
    for i in picks:
        article = run.articles[i]
        check = {"article": article.name, "question": article.question, "expected": article.answer, "ok": False}
        try:
            response = await call(client, "POST", "/api/ask", run, json={"question": article.question})
            body = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError) as exc:
            check["error"] = f"{type(exc).__name__}: {exc}"
            checks.append(check)
            continue
        sources = [c.get("source") for c in body.get("citations", [])]
        check.update(status=response.status_code, answer=body.get("answer", response.text[:300]), cited=sources)
        check["ok"] = (response.status_code == 200 and not body.get("refused")
                       and article.answer in body.get("answer", "") and f"upload:{article.name}" in sources)
        checks.append(check)
    return checks


async def remove_uploads(client: httpx.AsyncClient, run: Run) -> None:
    for article_id in run.ingest.get("ids", []):
        try:
            await call(client, "DELETE", f"/api/articles/{article_id}", run)
        except httpx.HTTPError:
            pass


async def drive(run: Run, *, cleanup_uploads: bool) -> dict:
    limits = httpx.Limits(max_connections=run.clients + 4, max_keepalive_connections=run.clients + 4)
    async with httpx.AsyncClient(base_url=run.url, limits=limits) as client:
        stop, done = asyncio.Event(), asyncio.Event()
        t0 = time.perf_counter()
        sampling = asyncio.create_task(sampler(run, t0, done, stop))
        uploading = asyncio.create_task(upload(client, run, t0)) if run.articles else None
        await asyncio.gather(*(client_loop(client, run, random.Random(i), t0, stop) for i in range(run.clients)))
        load_end = time.perf_counter() - t0
        if uploading is not None:
            await uploading
        done.set()
        await sampling
        end_rss = rss_mb(run.pid)
        if end_rss is not None:
            run.rss_samples.append((round(time.perf_counter() - t0, 1), round(end_rss, 1)))
        checks = await verify_uploads(client, run) if run.articles and run.ingest.get("end_s") is not None else []
        if cleanup_uploads and run.articles:
            await remove_uploads(client, run)
    return {"load_end_s": load_end, "checks": checks}


# --- figures ------------------------------------------------------------------------------------


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, help="concurrent clients (default 50; 10 with --soak)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    parser.add_argument("--soak", type=float, metavar="SECONDS",
                        help="memory soak: load for SECONDS without an upload, sampling the server's RSS")
    parser.add_argument("--url", help="an already running server (127.0.0.1 or localhost only); needs --key")
    parser.add_argument("--key", default=os.environ.get("ASSISTANT_BENCH_KEY"),
                        help="admin key for --url (or ASSISTANT_BENCH_KEY)")
    parser.add_argument("--server-pid", type=int, help="with --url: the server's pid, to read its memory")
    parser.add_argument("--corpus", type=Path, action="append",
                        help="starting corpus of the bench's own server (repeatable; default seeds/ and xquad-dev)")
    parser.add_argument("--questions", type=Path, action="append",
                        help="JSONL question files (repeatable; default xquad-dev and seed questions)")
    parser.add_argument("--distinct", type=int, metavar="N",
                        help="ask each question once: the questions shuffled (--seed), from the Nth on, so caches "
                             "of earlier runs over the same order do not help; wraps round when all are asked")
    parser.add_argument("--ingest-articles", type=int, default=40, help="articles uploaded during the load (0 = none)")
    parser.add_argument("--ingest-paragraphs", type=int, default=12, help="paragraphs (5 sentences) per article")
    parser.add_argument("--ingest-after", type=float, default=5, help="seconds into the load before the upload")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per request before it counts as an error")
    parser.add_argument("--sample-every", type=float, default=10, help="seconds between memory samples")
    parser.add_argument("--warmup", type=float, help="--soak: seconds before the 'start' memory figure (default "
                                                     "min(60, SECONDS/5))")
    parser.add_argument("--seed", type=int, default=8, help="random seed of the synthetic articles")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the figures (and samples) here")
    parser.add_argument("--plot", type=Path, help="--soak: RSS plot (PNG; default bench/out/soak-rss.png)")
    args = parser.parse_args(argv)
    if args.url:
        args.url = check_local(args.url)
        if not args.key:
            parser.error("--url needs --key (or ASSISTANT_BENCH_KEY): an admin key of that server")
    return args


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    soak = args.soak is not None
    clients = args.clients or (10 if soak else 50)
    duration = args.soak if soak else args.duration
    warmup = (args.warmup if args.warmup is not None else min(60.0, duration / 5)) if soak else 0.0
    questions = load_questions(args.questions or DEFAULT_QUESTIONS)
    articles = [] if soak or args.ingest_articles <= 0 else synthetic_articles(
        args.ingest_articles, args.ingest_paragraphs, args.seed)
    notes: list[str] = []
    server: OwnServer | None = None

    # Ctrl-C and SIGTERM both unwind through the finally below, so the server and temp dir go.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if args.url:
            url, key, pid, alive = args.url, args.key, args.server_pid, (lambda: True)
            ready = wait_ready(url, 60)
            notes.append("an external server: its own rate limit applies (429s count as errors)")
            if pid is None:
                notes.append("no --server-pid: server memory not measured")
        else:
            server = OwnServer(args.corpus or DEFAULT_CORPUS)
            started = time.perf_counter()
            print(f"starting a server on {server.url} over {', '.join(str(p) for p in server.corpus)} ...",
                  file=sys.stderr, flush=True)
            server.start()
            ready = wait_ready(server.url, 10)
            url, key, pid, alive = server.url, server.key, server.pid, server.alive
            notes.append(f"own server (pid {pid}), ready in {time.perf_counter() - started:.0f} s; "
                         f"ASSISTANT_API_RATE_PER_MINUTE={BENCH_RATE_PER_MINUTE} so the per-key rate limit "
                         f"(default 60/min) does not answer 429")
        notes.append(f"index: {ready.get('articles')} articles, {ready.get('vectors')} vectors; "
                     f"{len(questions)} questions")
        distinct = None
        if args.distinct is not None:
            distinct = distinct_order(questions, args.seed, args.distinct)
            notes.append(f"each question once, from the {args.distinct}th of {len(questions)} in a shuffled order "
                         "(asked again only after all have been)")
        run = Run(url=url, headers={"Authorization": f"Bearer {key}"}, clients=clients, duration=duration,
                  questions=questions, timeout=args.timeout, pid=pid, alive=alive,
                  sample_every=args.sample_every, articles=articles,
                  ingest_after=min(args.ingest_after, duration / 4), distinct=distinct)
        print(f"{'soak' if soak else 'load'}: {clients} clients for {duration:g} s"
              + (f", uploading {len(articles)} articles after {run.ingest_after:g} s" if articles else ""),
              file=sys.stderr, flush=True)
        load_before = os.getloadavg()[0]
        driven = asyncio.run(drive(run, cleanup_uploads=bool(args.url)))
        notes.append(f"machine load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after "
                     f"on {os.cpu_count()} CPUs (other work skews the figures)")
        summary = summarise(run, driven, "soak" if soak else "load", warmup)
        if server is not None:
            summary["server_log"] = server.log_problems()
        if soak and summary.get("memory"):
            plot = plot_rss(summary["memory"]["samples"], args.plot or OUT / "soak-rss.png",
                            f"server RSS, {clients} clients asking for {duration / 60:g} min", warmup)
            summary["memory"]["plot"] = str(plot) if plot else None
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server is not None:
            server.stop()

    problems = failures(summary)
    summary["failures"] = problems
    print_report(summary, notes)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary | {"notes": notes}, indent=2, ensure_ascii=False) + "\n")
    if problems:
        print("FAIL: " + "; ".join(problems))
        return 1
    print("PASS: no errors")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except RuntimeError as exc:  # the server did not start or get ready
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
