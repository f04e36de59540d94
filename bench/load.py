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

Each client loops POST /api/ask with questions drawn from xquad-dev and the seed set, until the
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
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from assistant.eval.metrics import percentile

ROOT = Path(__file__).resolve().parent.parent
EVALDATA = ROOT.parent / "shared" / "evaldata"
DEFAULT_CORPUS = [ROOT / "seeds", EVALDATA / "xquad-dev" / "articles"]
DEFAULT_QUESTIONS = [EVALDATA / "xquad-dev" / "questions.jsonl", EVALDATA / "seed" / "questions.jsonl"]
OUT = ROOT / "bench" / "out"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# High enough that no number of local clients reaches it: the bench measures the server, not the limiter.
BENCH_RATE_PER_MINUTE = 10_000_000
CITATION_FIELDS = {"n", "article_id", "title", "source", "quote", "start", "end", "score"}


# --- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of a process in MiB (VmRSS from /proc), None if unknown or gone."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class OwnServer:
    """`assistant serve` on a free port of 127.0.0.1 over a fresh index in a temp dir."""

    def __init__(self, corpus: list[Path], *, startup_timeout: float = 600):
        self.corpus = corpus
        self.startup_timeout = startup_timeout
        self.key = secrets.token_urlsafe(24)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = Path(tempfile.mkdtemp(prefix="assistant-load-"))
        self.log_path = self.tmp / "server.log"
        self.proc: subprocess.Popen | None = None
        self.pid: int | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        passed = {k: v for k, v in os.environ.items() if k.startswith("ASSISTANT_")}
        for k in ("ASSISTANT_INDEX_DIR", "ASSISTANT_CHROMA_URL", "ASSISTANT_CONFIG", "ASSISTANT_KEYS_FILE",
                  "ASSISTANT_ADMIN_KEYS", "ASSISTANT_WIDGET_KEYS", "ASSISTANT_WIDGET_ORIGINS",
                  "ASSISTANT_API_RATE_PER_MINUTE", "ASSISTANT_HOST", "ASSISTANT_PORT"):
            passed.pop(k, None)
        return env | passed | {
            "ASSISTANT_INDEX_DIR": str(self.tmp / "index"),
            "ASSISTANT_CONFIG": str(self.tmp / "no-such-assistant.toml"),  # never the developer's settings file
            "ASSISTANT_ADMIN_KEYS": self.key,
            "ASSISTANT_API_RATE_PER_MINUTE": str(BENCH_RATE_PER_MINUTE),
        }

    def start(self) -> None:
        """Copy the corpus into one folder, serve with --seed (ingested before it listens), wait for /ready."""
        seed = self.tmp / "corpus"
        seed.mkdir()
        for i, folder in enumerate(self.corpus):
            if not folder.exists():
                print(f"note: corpus folder {folder} does not exist; skipped", file=sys.stderr)
                continue
            target = seed / f"{i}-{folder.name}"
            if folder.is_dir():
                shutil.copytree(folder, target)
            else:
                target.mkdir()
                shutil.copy2(folder, target)
        assistant = Path(sys.executable).parent / "assistant"
        cmd = [str(assistant), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--seed", str(seed)]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(cmd, env=self.env(), cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        wait_ready(self.url, self.startup_timeout, self.proc, self.log_path)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)  # uvicorn waits for requests in flight (an upload) first
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log_problems(self) -> dict:
        """Tracebacks and ERROR lines the server logged (the first one's tail, to diagnose errors)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return {"tracebacks": 0, "error_lines": 0}
        lines = text.splitlines()
        tracebacks = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
        found = {"tracebacks": len(tracebacks), "error_lines": sum(line.startswith("ERROR") for line in lines)}
        if tracebacks:
            first = tracebacks[0]
            end = next((j for j in range(first + 1, len(lines)) if lines[j] and not lines[j][0].isspace()
                        and not lines[j].startswith(("Traceback", "The above", "During handling"))), len(lines) - 1)
            found["first_traceback"] = "\n".join(lines[max(0, first - 2): end + 1][-40:])
        return found


def wait_ready(url: str, timeout: float, proc: subprocess.Popen | None = None, log_path: Path | None = None) -> dict:
    """Poll GET /ready until 200 (the server loads its models in the background)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    with httpx.Client(timeout=10) as client:
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:] if log_path else ""
                raise RuntimeError(f"the server exited with code {proc.returncode} before it was ready:\n{tail}")
            try:
                response = client.get(f"{url}/ready")
                if response.status_code == 200:
                    return response.json()
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.5)
    raise RuntimeError(f"{url}/ready did not answer 200 within {timeout:.0f} s (last: {last})")


def check_local(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOCAL_HOSTS:
        raise SystemExit(f"refusing {url!r}: the load test only runs against http(s)://127.0.0.1 or localhost")
    return url.rstrip("/")


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


SYLLABLES = "bra cor dal ven mir tol sha kes quin por lum zar fen gal hob tir nev osk rud wyn".split()
TRADES = ("lighthouse", "ferry", "museum", "observatory", "brewery", "library", "bakery", "foundry", "orchard",
          "quarry")
NOUNS = ("harbour", "council", "bridge", "festival", "archive", "railway", "market", "canal", "meadow", "tunnel",
         "school", "choir", "mill", "garden", "square")
VERBS = ("welcomed", "recorded", "counted", "reported", "hosted", "registered")
OPINIONS = (
    "Residents said the change was overdue.",
    "Local officials described the figures as encouraging.",
    "Critics argued that the money would have been better spent elsewhere.",
    "The decision surprised many of the older residents.",
    "Visitors praised the view from the old walls.",
    "Shopkeepers reported a busy season.",
)


@dataclass
class SyntheticArticle:
    name: str
    text: str
    question: str
    answer: str


def coined(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def synthetic_articles(n: int, paragraphs: int, seed: int) -> list[SyntheticArticle]:
    """Sentence-y reports about invented towns; each holds one fact a question can ask for."""
    rng = random.Random(seed)
    used: set[str] = set()
    articles = []
    for i in range(n):
        town = coined(rng, 3)
        while town in used:
            town = coined(rng, 3)
        used.add(town)
        trade = rng.choice(TRADES)
        keeper = f"{coined(rng, 2)} {coined(rng, 3)}"
        year = rng.randint(1950, 2015)
        fact = (f"The {trade} of {town} has been run by {keeper} since {year}, "
                f"and {keeper.split()[0]} still opens it every morning.")
        body = []
        for j in range(paragraphs):
            sentences = [
                f"In {1990 + j}, the {rng.choice(NOUNS)} of {town} {rng.choice(VERBS)} "
                f"{rng.randint(12, 9000)} visitors, {rng.choice(['up', 'down'])} from the year before."
                for _ in range(3)
            ]
            sentences.append(f"The {rng.choice(NOUNS)} near the {rng.choice(NOUNS)} was repaired at a cost of "
                             f"{rng.randint(2, 90)} thousand pounds.")
            sentences.append(rng.choice(OPINIONS))
            if j == paragraphs // 2:
                sentences.insert(1, fact)
            body.append(" ".join(sentences))
        text = f"{town} town report\n\n" + "\n\n".join(body) + "\n"
        question = f"Who runs the {trade} of {town}?"
        articles.append(SyntheticArticle(f"load-{i:03d}-{town.lower()}.txt", text, question, keeper))
    return articles


# --- the load -----------------------------------------------------------------------------------


@dataclass
class Result:
    start: float  # seconds since the load started
    end: float
    outcome: str  # "ok" or an error kind
    refused: bool = False


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
        result = await ask_once(client, run, rng.choice(run.questions), t0)
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


def latency_figures(results: list[Result]) -> dict:
    ms = [(r.end - r.start) * 1000 for r in results]
    return {
        "requests": len(ms),
        "p50_ms": _round(percentile(ms, 50)),
        "p95_ms": _round(percentile(ms, 95)),
        "max_ms": _round(max(ms) if ms else None),
    }


def _timeline(results: list[Result], elapsed: float, step: float) -> list[int]:
    """Answers completed in each `step`-second bin of the run."""
    bins = [0] * max(1, int(elapsed // step) + 1)
    for r in results:
        bins[min(len(bins) - 1, int(r.end // step))] += 1
    return bins


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def summarise(run: Run, driven: dict, mode: str, soak_warmup: float) -> dict:
    ok = [r for r in run.results if r.outcome == "ok"]
    errors: dict[str, int] = {}
    for r in run.results:
        if r.outcome != "ok":
            errors[r.outcome] = errors.get(r.outcome, 0) + 1
    elapsed = max([driven["load_end_s"]] + [r.end for r in run.results])
    summary = {
        "mode": mode,
        "url": run.url,
        "clients": run.clients,
        "duration_s": run.duration,
        "elapsed_s": round(elapsed, 1),
        "requests": len(run.results),
        "ok": len(ok),
        "refused": sum(r.refused for r in ok),
        "errors": sum(errors.values()),
        "errors_by_kind": errors,
        "error_examples": run.error_examples,
        "throughput_rps": round(len(ok) / elapsed, 2) if elapsed else 0.0,
        "latency": latency_figures(ok),
        "answers_per_5s": _timeline(ok, elapsed, 5.0),
    }
    if run.articles:
        ingest = dict(run.ingest)
        start, end = ingest.get("start_s"), ingest.get("end_s")
        if start is not None and end is not None:
            ingest["duration_s"] = round(end - start, 1)
            during = [r for r in ok if r.end >= start and r.start <= end]
            outside = [r for r in ok if r.end < start or r.start > end]
            summary["latency_during_ingest"] = latency_figures(during)
            summary["latency_outside_ingest"] = latency_figures(outside)
            ingest["finished_before_load_end"] = end <= driven["load_end_s"]
        for key in ("start_s", "end_s"):
            if ingest.get(key) is not None:
                ingest[key] = round(ingest[key], 1)
        ingest["added"] = len(ingest.get("added", []))
        ingest.pop("ids", None)
        summary["ingest"] = ingest
        summary["uploaded_answerable"] = driven["checks"]
    samples = run.rss_samples
    if samples:
        values = [v for _, v in samples]
        memory = {"rss_start_mb": values[0], "rss_end_mb": values[-1], "rss_max_mb": max(values),
                  "samples": [list(s) for s in samples]}
        if mode == "soak":
            settled = [v for t, v in samples if t >= soak_warmup] or values[-1:]
            memory.update(warmup_s=soak_warmup, rss_after_warmup_mb=settled[0],
                          growth_after_warmup_mb=round(values[-1] - settled[0], 1),
                          growth_per_hour_mb=_growth_per_hour([s for s in samples if s[0] >= soak_warmup]))
        summary["memory"] = memory
    if run.server_died:
        summary["server_died"] = run.server_died
    return summary


def _growth_per_hour(samples: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of RSS over time, in MiB per hour (None over less than two minutes: too noisy)."""
    if len(samples) < 3 or samples[-1][0] - samples[0][0] < 120:
        return None
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    if not spread:
        return None
    return round(sum((t - mean_t) * (v - mean_v) for t, v in samples) / spread * 3600, 1)


def failures(summary: dict) -> list[str]:
    problems = []
    if summary["errors"]:
        problems.append(f"{summary['errors']} request(s) failed")
    if summary.get("server_died"):
        problems.append(summary["server_died"])
    if not summary["ok"]:
        problems.append("no request succeeded")
    ingest = summary.get("ingest")
    if ingest is not None:
        if not ingest.get("ok"):
            problems.append(f"the upload failed: {ingest.get('error') or ingest.get('failed')}")
        bad = [c["article"] for c in summary.get("uploaded_answerable", []) if not c["ok"]]
        if bad or not summary.get("uploaded_answerable"):
            problems.append(f"uploaded articles not answered from themselves: {bad or 'none checked'}")
    if summary.get("server_log", {}).get("tracebacks"):
        problems.append(f"the server logged {summary['server_log']['tracebacks']} traceback(s)")
    return problems


def sparkline(values: list[float]) -> str:
    bars = "▁▂▃▄▅▆▇█"
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(bars[min(len(bars) - 1, int((v - low) / span * len(bars)))] for v in values)


def plot_rss(samples: list[list[float]], path: Path, title: str, warmup_s: float = 0) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot([t / 60 for t, _ in samples], [v for _, v in samples], marker=".", linewidth=1)
    if warmup_s:
        ax.axvline(warmup_s / 60, color="grey", linestyle=":", linewidth=1, label="end of warm-up")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel("minutes")
    ax.set_ylabel("server RSS (MiB)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def print_report(summary: dict, notes: list[str]) -> None:
    def ms(figures: dict) -> str:
        return (f"p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms "
                f"({figures['requests']} requests)") if figures["requests"] else "no requests"

    print(f"\n{summary['mode']}: {summary['clients']} clients for {summary['duration_s']:g} s against {summary['url']}")
    for note in notes:
        print(f"  note: {note}")
    print(f"  requests    {summary['requests']} ({summary['ok']} ok, {summary['refused']} of them refusals), "
          f"{summary['errors']} error(s) {summary['errors_by_kind'] or ''}")
    for kind, example in summary["error_examples"].items():
        print(f"    {kind}: {example}")
    print(f"  throughput  {summary['throughput_rps']} answers/s over {summary['elapsed_s']} s")
    timeline = summary["answers_per_5s"]
    if len(timeline) > 2 and max(timeline):
        print(f"              {sparkline(timeline)}  (answers per 5 s: {min(timeline)}–{max(timeline)})")
        ingest = summary.get("ingest", {})
        if ingest.get("start_s") is not None and ingest.get("end_s") is not None:
            marks = "".join("^" if i * 5 < ingest["end_s"] and (i + 1) * 5 > ingest["start_s"] else " "
                            for i in range(len(timeline)))
            print(f"              {marks.rstrip()}  (^ ingest running)")
    print(f"  latency     {ms(summary['latency'])}")
    if "latency_during_ingest" in summary:
        print(f"    during ingest   {ms(summary['latency_during_ingest'])}")
        print(f"    outside ingest  {ms(summary['latency_outside_ingest'])}")
    if "ingest" in summary:
        ingest = summary["ingest"]
        state = "ok" if ingest.get("ok") else f"FAILED {ingest.get('error') or ingest.get('failed')}"
        print(f"  ingest      {ingest.get('articles')} articles ({ingest.get('bytes', 0) / 1024:.0f} KiB) uploaded at "
              f"{ingest.get('start_s')} s, done at {ingest.get('end_s')} s ({ingest.get('duration_s')} s): "
              f"{ingest.get('added', 0)} added, {ingest.get('chunks_added')} chunks, {state}")
        if ingest.get("finished_before_load_end") is False:
            print("    (the ingest outlasted the load: only part of it ran under load)")
        for check in summary.get("uploaded_answerable", []):
            mark = "ok " if check["ok"] else "BAD"
            print(f"    {mark} {check['question']} -> {check.get('answer', check.get('error', ''))[:100]!r}")
    memory = summary.get("memory")
    if memory:
        line = (f"  server RSS  start {memory['rss_start_mb']:.0f} MiB, end {memory['rss_end_mb']:.0f} MiB, "
                f"max {memory['rss_max_mb']:.0f} MiB")
        if "rss_after_warmup_mb" in memory:
            line += (f"; after {memory['warmup_s']:.0f} s warm-up {memory['rss_after_warmup_mb']:.0f} MiB, "
                     f"growth since {memory['growth_after_warmup_mb']:+.1f} MiB"
                     + (f" (trend {memory['growth_per_hour_mb']:+.0f} MiB/h)" if memory["growth_per_hour_mb"] is not None
                        else ""))
        print(line)
        values = [v for _, v in memory["samples"]]
        if len(values) > 2:
            spread = f"{min(values):.0f}–{max(values):.0f} MiB"
            print(f"              {sparkline(values)}  ({len(values)} samples, {spread})")
        if memory.get("plot"):
            print(f"              plot: {memory['plot']}")
    log = summary.get("server_log")
    if log and (log.get("tracebacks") or log.get("error_lines")):
        print(f"  server log  {log['tracebacks']} traceback(s), {log['error_lines']} ERROR line(s)")
        if log.get("first_traceback"):
            print("    " + log["first_traceback"].replace("\n", "\n    "))


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
        run = Run(url=url, headers={"Authorization": f"Bearer {key}"}, clients=clients, duration=duration,
                  questions=questions, timeout=args.timeout, pid=pid, alive=alive,
                  sample_every=args.sample_every, articles=articles,
                  ingest_after=min(args.ingest_after, duration / 4))
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
