"""bench/scale.py's replica curve: N `assistant serve` processes behind HAProxy over one PostgreSQL, Redis and
Chroma server, asked by concurrent clients for a fixed time (see bench/scale.py's docstring)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assistant.eval.metrics import percentile
from bench import corpus
from bench.backing_servers import ChromaServer, HAProxy, PostgresServer, RedisServer, free_port
from bench.procstats import cpu_seconds, log, machine_cpu, own_cpu, rss_mb
from bench.scale_build import copy_sqlite

ROOT = corpus.ROOT
EVALDATA = ROOT.parent / "shared" / "evaldata"
REPLICA_CORPUS = [ROOT / "seeds", EVALDATA / "xquad-dev" / "articles"]
REPLICA_QUESTIONS = [EVALDATA / "xquad-dev" / "questions.jsonl", EVALDATA / "seed" / "questions.jsonl"]
# So that the per-key rate limit (60/min by default) never turns the load into 429s: the bench measures the server.
BENCH_RATE_PER_MINUTE = 10_000_000


@dataclass
class Replica:
    index_dir: Path
    port: int
    log_path: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, env: dict[str, str]) -> None:
        assistant = Path(sys.executable).parent / "assistant"
        with self.log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(assistant), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env | {"ASSISTANT_INDEX_DIR": str(self.index_dir)}, cwd=self.index_dir.parent,
                stdout=out, stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tracebacks(self) -> int:
        try:
            return sum(line.startswith("Traceback") for line in self.log_path.read_text(errors="replace").splitlines())
        except OSError:
            return 0


@dataclass
class Outcome:
    start: float
    end: float
    ok: bool
    kind: str = "ok"


@dataclass
class Load:
    url: str
    key: str
    clients: int
    duration: float
    questions: Iterator[str]
    timeout: float = 60.0
    kill_at: float | None = None
    kill: Callable[[], None] | None = None
    results: list[Outcome] = field(default_factory=list)
    examples: dict[str, str] = field(default_factory=dict)
    killed_at: float | None = None


def load_questions(paths: list[Path], seed: int = 5) -> list[str]:
    questions = []
    for path in paths:
        if path.exists():
            questions += [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()]
    random.Random(seed).shuffle(questions)
    return questions


def question_stream(questions: list[str], seed: int = 6) -> Iterator[str]:
    """Every question once, then again in another order: no repeat until the list runs out."""
    questions = list(questions)
    rng = random.Random(seed)
    while True:
        yield from list(questions)
        rng.shuffle(questions)


async def _client(client, load: Load, t0: float) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {load.key}"}
    while time.perf_counter() - t0 < load.duration:
        question = next(load.questions, None)
        if question is None:  # a finite list (the warm-up) is done
            return
        start = time.perf_counter() - t0
        try:
            response = await client.post("/api/ask", json={"question": question}, headers=headers, timeout=load.timeout)
            body = response.json() if response.status_code == 200 else None
            if response.status_code != 200:
                kind, detail = f"http {response.status_code}", response.text[:200]
            elif not isinstance(body, dict) or not isinstance(body.get("answer"), str) or "citations" not in body:
                kind, detail = "invalid body", response.text[:200]
            else:
                kind, detail = "ok", ""
        except httpx.TimeoutException:
            kind, detail = "timeout", f"no answer within {load.timeout:.0f} s"
        except (httpx.TransportError, ValueError) as exc:
            kind, detail = f"connection ({type(exc).__name__})", str(exc)[:200]
        load.results.append(Outcome(start, time.perf_counter() - t0, kind == "ok", kind))
        if kind != "ok":
            load.examples.setdefault(kind, detail)
            await asyncio.sleep(0.2)  # a dead backend must not become a hot loop of errors


async def _killer(load: Load, t0: float) -> None:
    await asyncio.sleep(load.kill_at)
    load.kill()
    load.killed_at = time.perf_counter() - t0


async def _drive(load: Load) -> float:
    import httpx

    limits = httpx.Limits(max_connections=load.clients + 2, max_keepalive_connections=load.clients + 2)
    async with httpx.AsyncClient(base_url=load.url, limits=limits) as client:
        t0 = time.perf_counter()
        tasks = [_client(client, load, t0) for _ in range(load.clients)]
        if load.kill_at is not None:
            tasks.append(_killer(load, t0))
        await asyncio.gather(*tasks)
        return time.perf_counter() - t0


async def _drive_all(loads: list[Load]) -> None:
    await asyncio.gather(*(_drive(load) for load in loads))


def _latency(results: list[Outcome]) -> dict:
    ms = [(r.end - r.start) * 1000 for r in results if r.ok]
    return {"p50_ms": round(percentile(ms, 50), 1) if ms else None,
            "p95_ms": round(percentile(ms, 95), 1) if ms else None}


def run_load(load: Load, components: dict[str, int | None]) -> dict:
    """Drive the load; CPU of each component (a process tree) and of the machine over it."""
    cpu_before = {name: cpu_seconds(pid) for name, pid in components.items()}
    own_before, machine_before = own_cpu(), machine_cpu()
    elapsed = asyncio.run(_drive(load))
    cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in components.items()}
    cpu["bench clients"] = own_cpu() - own_before
    busy = machine_cpu()[0] - machine_before[0]
    cpu["rest of the machine"] = max(0.0, busy - sum(cpu.values()))
    ok = [r for r in load.results if r.ok]
    errors: dict[str, int] = {}
    for r in load.results:
        if not r.ok:
            errors[r.kind] = errors.get(r.kind, 0) + 1
    cores = os.cpu_count() or 1
    summary = {
        "clients": load.clients, "elapsed_s": round(elapsed, 1), "ok": len(ok), "errors": sum(errors.values()),
        "errors_by_kind": errors, "error_examples": load.examples,
        "requests_per_s": round(len(ok) / elapsed, 2), **_latency(load.results),
        "machine_busy_pct_of_all_cores": round(100 * busy / (elapsed * cores), 1),
        "cpu_s": {name: round(v, 2) for name, v in cpu.items()},
        "cpu_ms_per_answer": {name: round(1000 * v / len(ok), 1) if ok else None for name, v in cpu.items()},
        "cpu_pct_of_all_cores": {name: round(100 * v / (elapsed * cores), 1) for name, v in cpu.items()},
    }
    if load.killed_at is not None:
        k = load.killed_at
        before = [r for r in ok if r.end <= k]
        after = [r for r in ok if r.start >= k]
        completions = sorted(r.end for r in ok)
        gaps = [b - a for a, b in zip([0.0] + completions, completions + [elapsed]) if b >= k - 0.001]
        summary["kill"] = {
            "killed_at_s": round(k, 1),
            "ok_before": len(before), "requests_per_s_before": round(len(before) / k, 2) if k else None,
            "ok_after": len(after), "requests_per_s_after": round(len(after) / (elapsed - k), 2) if elapsed > k else None,
            "errors_after": sum(1 for r in load.results if not r.ok and r.end >= k),
            "longest_gap_without_an_answer_s": round(max(gaps), 2) if gaps else None,
            "latency_after": _latency([r for r in load.results if r.start >= k]),
        }
    return summary


class Balancer(HAProxy):
    """HAProxy as bench/backing_servers.py configures it; with ``redispatch``, a request whose connection to a
    replica fails is retried on another one (`retries 3`, `option redispatch 1`; only connection failures, so a
    POST that reached a replica is never sent twice)."""

    def __init__(self, backends: list[str], redispatch: bool = False):
        super().__init__(backends)
        self.redispatch = redispatch
        if redispatch:
            cfg = self.root / "haproxy.cfg"
            cfg.write_text(cfg.read_text().replace("defaults\n", "defaults\n    retries 3\n    option redispatch 1\n", 1))


def _copy_index_folder(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for item in (source.iterdir() if source.exists() else []):
        if item.name in ("write.lock", "owner.json", "owner.lock") or item.name.endswith((".lock", "-shm", "-wal")):
            continue
        if item.name == "manifest.sqlite3":
            copy_sqlite(item, target / item.name)
        elif item.is_dir():
            shutil.copytree(item, target / item.name)
        else:
            shutil.copy2(item, target / item.name)


def run_replicas(counts: list[int], args: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="assistant-scale-"))
    key = secrets.token_urlsafe(24)
    questions = REPLICA_QUESTIONS
    result: dict = {"runs": [], "notes": [], "redispatch": args.redispatch}
    redis = None
    servers: list = []
    try:
        postgres = PostgresServer().start()
        servers.append(postgres)
        chroma = ChromaServer().start()
        servers.append(chroma)
        if args.redis and shutil.which("redis-server"):
            redis = RedisServer().start()
            servers.append(redis)
        elif args.redis:
            result["notes"].append("redis-server is not installed: no ASSISTANT_REDIS_URL")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")} | {
            "ASSISTANT_CONFIG": "",  # never the developer's settings file
            "ASSISTANT_ADMIN_KEYS": key,
            "ASSISTANT_API_RATE_PER_MINUTE": str(BENCH_RATE_PER_MINUTE),
            "ASSISTANT_SESSION_SECRET": secrets.token_urlsafe(32),  # one for all replicas, as for real ones
            "ASSISTANT_TRUSTED_PROXIES": "127.0.0.1",  # HAProxy's X-Forwarded-For names the client
            "ASSISTANT_DATABASE_URL": postgres.url,
            "ASSISTANT_CHROMA_URL": chroma.url,
            "ASSISTANT_COLLECTION": "scale",
        }
        if redis is not None:
            env["ASSISTANT_REDIS_URL"] = redis.url
        first = tmp / "replica-0" / "index"
        log(f"replicas: ingesting {', '.join(p.name for p in REPLICA_CORPUS)} through the shared servers "
            f"(postgres {postgres.url}, chroma {chroma.url}{', redis ' + redis.url if redis else ''})")
        started = time.perf_counter()
        ingest = subprocess.run([str(Path(sys.executable).parent / "assistant"), "ingest", *map(str, REPLICA_CORPUS)],
                                env=env | {"ASSISTANT_INDEX_DIR": str(first)}, cwd=tmp, capture_output=True, text=True,
                                check=False)
        if ingest.returncode != 0:
            raise RuntimeError(f"assistant ingest failed ({ingest.returncode}):\n{ingest.stdout[-2000:]}\n{ingest.stderr[-3000:]}")
        result["ingest_s"] = round(time.perf_counter() - started, 1)
        result["manifest"] = ("in each replica's index folder (copied from the one ingested): the PostgreSQL "
                              "manifest has not landed" if (first / "manifest.sqlite3").exists()
                              else "in PostgreSQL (ASSISTANT_DATABASE_URL), shared by every replica")
        log(f"  ingested in {result['ingest_s']} s; manifest {result['manifest']}")

        every = load_questions(questions)
        warmup, measured = every[: args.warmup_questions], every[args.warmup_questions:]
        result["questions"] = {"warm_up_per_replica": len(warmup), "measured_distinct": len(measured)}
        stream = question_stream(measured)
        for n in counts:
            replicas = []
            for i in range(n):
                folder = tmp / f"replica-{i}" / "index"
                if not folder.exists():
                    _copy_index_folder(first, folder)
                replicas.append(Replica(folder, free_port(), tmp / f"replica-{i}" / f"serve-{n}.log"))
            started = time.perf_counter()
            try:
                for replica in replicas:
                    replica.start(env)
                for replica in replicas:
                    _wait_ready(replica)
                start_s = round(time.perf_counter() - started, 1)
                import httpx

                for replica in replicas:  # one answer each, one at a time: warm, and the store's tables made once
                    httpx.post(f"{replica.url}/api/ask", json={"question": "What does JIG stand for?"},
                               headers={"Authorization": f"Bearer {key}"}, timeout=120).raise_for_status()
                if warmup:  # unmeasured: every replica's caches (question and sentence vectors) fill first
                    log(f"  {n} replica(s): each answers the {len(warmup)} warm-up questions")
                    started = time.perf_counter()
                    warm = [Load(url=r.url, key=key, clients=max(1, args.clients // n), duration=1800,
                                 questions=iter(warmup)) for r in replicas]
                    asyncio.run(_drive_all(warm))
                    warm_s = round(time.perf_counter() - started, 1)
                base = {"postgres": postgres.process.pid, "chroma": chroma.process.pid,
                        **({"redis": redis.process.pid} if redis else {})}
                with Balancer([r.url for r in replicas], args.redispatch) as balancer:
                    time.sleep(2.5)  # two health checks: every replica is up
                    components = {**{f"replica {i}": r.pid for i, r in enumerate(replicas)},
                                  "haproxy": balancer.process.pid, **base}
                    plans = [("haproxy", balancer.url, None)]
                    if n == 1 and args.direct:  # alternated with the balanced runs, so neither gets the warmer caches
                        plans = [("direct", replicas[0].url, None), ("haproxy", balancer.url, None)]
                    plans = plans * args.repeat
                    if args.kill:
                        plans.append(("haproxy, one replica killed", balancer.url, args.duration / 2))
                    for run, (via, url, kill_at) in enumerate(plans):
                        victim = replicas[0]
                        load = Load(url=url, key=key, clients=args.clients, duration=args.duration, questions=stream,
                                    kill_at=kill_at, kill=(lambda v=victim: v.proc.send_signal(signal.SIGKILL)))
                        log(f"  {n} replica(s), {via}: {args.clients} clients for {args.duration:g} s")
                        load_before = os.getloadavg()[0]
                        parts = components if via != "direct" else {k: v for k, v in components.items() if k != "haproxy"}
                        summary = run_load(load, parts)
                        summary |= {"replicas": n, "via": via, "run": sum(1 for p in plans[:run] if p[0] == via) + 1, "start_s": start_s,
                                    "warm_up_s": warm_s if warmup else None, "load_before": round(load_before, 2),
                                    "replica_rss_mb": [rss_mb(r.pid) for r in replicas if r.proc.poll() is None],
                                    "chroma_rss_mb": rss_mb(chroma.process.pid),
                                    "postgres_rss_mb": rss_mb(postgres.process.pid)}
                        result["runs"].append(summary)
                        log(f"    {summary['requests_per_s']} answers/s, p50 {summary['p50_ms']} ms, "
                            f"p95 {summary['p95_ms']} ms, {summary['errors']} errors "
                            + (f"kill: {summary['kill']}" if "kill" in summary else ""))
                result.setdefault("postgres_rows", {})[n] = _postgres_rows(postgres)
                problems = sum(r.tracebacks() for r in replicas)
                if problems:
                    result["notes"].append(f"{n} replica(s): the replicas logged {problems} traceback(s); see logs")
            finally:
                for replica in replicas:
                    replica.stop()
    finally:
        for server in reversed(servers):
            server.stop()
            server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def _postgres_rows(postgres: PostgresServer) -> dict[str, int]:
    """Rows per table in PostgreSQL: what the replicas keep there (the manifest, answers, conversations)."""
    found = subprocess.run(
        [str(postgres.bin / "psql"), "-h", "127.0.0.1", "-p", str(postgres.port), "-U", "postgres", "-At", "-F", "=",
         "-c", "SELECT relname, n_live_tup FROM pg_stat_user_tables ORDER BY relname"],
        capture_output=True, text=True, check=False)
    return {name: int(count) for name, _, count in (line.partition("=") for line in found.stdout.splitlines()) if count}


def _wait_ready(replica: Replica, timeout: float = 600) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if replica.proc.poll() is not None:
            raise RuntimeError(f"replica on port {replica.port} exited with {replica.proc.returncode}:\n"
                               + replica.log_path.read_text(errors="replace")[-3000:])
        try:
            if httpx.get(f"{replica.url}/ready", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"replica on port {replica.port} was not ready within {timeout:.0f} s")
