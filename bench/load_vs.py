"""Throughput of POST /api/ask, this checkout against an earlier commit, side by side in one run.

Both servers are started (bench/load_server.py: `assistant serve` on 127.0.0.1 over the same corpus, seeds and
xquad-dev's articles, each its own temp index); the earlier commit is served from a git worktree under
bench/out/worktrees/ with this checkout's installed dependencies. Then bench/load.py drives one server at a
time (10 clients, no upload), alternating the order each round (A B, B A, ...), so drift in the machine's load
falls on both. Prints answers/s and latency per run and the ratio of the means.

    .venv/bin/python -m bench.load_vs [--base 420d9d7] [--also REF ...] [--rounds 2] [--clients 10] [--duration 20]

``--questions FILE --corpus DIR`` load other questions over another corpus; ``--distinct`` asks each question once
(a fixed shuffled order, each server from where its last run stopped), so that no cache of answers, vectors or
readings helps: the repeated draws of the default favour whichever server remembers more.

``--also`` serves more commits beside them (each in its own worktree), to see a change against the commit
before it in the same run; the ratio is still this checkout's to ``--base``'s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from bench.load import DEFAULT_CORPUS
from bench.load_server import OwnServer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def worktree(ref: str) -> Path:
    """A checkout of ``ref`` under bench/out/worktrees/ (made once)."""
    commit = subprocess.run(["git", "rev-parse", ref], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    path = OUT / "worktrees" / commit[:12]
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), commit], cwd=ROOT, check=True,
                       capture_output=True)
    return path


def drive(server: OwnServer, clients: int, duration: float, out: Path, extra: list[str]) -> dict:
    out.unlink(missing_ok=True)  # a failed run must never be read as an earlier run's figures
    # "--key=..." form: a key may begin with "-", which argparse would take for an option
    done = subprocess.run([sys.executable, "-m", "bench.load", "--url", server.url, f"--key={server.key}",
                           "--server-pid", str(server.pid), "--clients", str(clients), "--duration", str(duration),
                           "--ingest-articles", "0", "--json", str(out), *extra], cwd=ROOT, check=False,
                          stdout=subprocess.DEVNULL)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"bench.load against {server.url} failed ({done.returncode}); its errors are above")
    return json.loads(out.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="420d9d7", help="the earlier commit (default: 420d9d7, 2026-11-26)")
    parser.add_argument("--also", action="append", default=[], metavar="REF",
                        help="another commit to serve and drive beside them (repeatable)")
    parser.add_argument("--corpus", type=Path, action="append", help="the servers' corpus (default: seeds/ and xquad-dev)")
    parser.add_argument("--questions", type=Path, action="append", help="JSONL questions (default: xquad-dev and seed)")
    parser.add_argument("--distinct", action="store_true", help="ask each question once (see above)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--duration", type=float, default=20)
    args = parser.parse_args()

    corpus = args.corpus or DEFAULT_CORPUS
    checkouts = {}  # every commit checked out before any server makes a folder: a bad name leaves nothing behind
    for ref in [args.base, *args.also]:
        try:
            checkouts[ref] = worktree(ref)
        except subprocess.CalledProcessError:
            parser.error(f"{ref!r} names no commit of this repository")
    servers = {"this checkout": OwnServer(corpus)}
    for ref, checkout in checkouts.items():
        servers[ref] = OwnServer(corpus, checkout=checkout)
    questions = [f"--questions={path}" for path in args.questions or []]
    rows: dict[str, list[dict]] = {name: [] for name in servers}
    try:
        for name, server in servers.items():
            print(f"starting {name} on {server.url} ...", file=sys.stderr, flush=True)
            server.start()
        names = list(servers)
        for round_ in range(args.rounds):
            for name in names if round_ % 2 == 0 else names[::-1]:
                run = OUT / "load_vs" / f"{round_ + 1}-{'this' if name == 'this checkout' else name}.json"
                asked = sum(r["requests"] for r in rows[name])  # --distinct: go on from there
                figures = drive(servers[name], args.clients, args.duration, run,
                                questions + ([f"--distinct={asked}"] if args.distinct else []))
                rows[name].append(figures)
                latency = figures["latency"]
                print(f"round {round_ + 1} {name}: {figures['throughput_rps']} answers/s, p50 {latency['p50_ms']} ms, "
                      f"p95 {latency['p95_ms']} ms, errors {figures['errors']}", flush=True)
    finally:
        for server in servers.values():
            server.stop()

    print("\n| server | answers/s (each run) | p50 ms | p95 ms |")
    print("|---|---|---|---|")
    for name, runs in rows.items():
        print(f"| {name} | {', '.join(str(r['throughput_rps']) for r in runs)} | "
              f"{', '.join(str(r['latency']['p50_ms']) for r in runs)} | {', '.join(str(r['latency']['p95_ms']) for r in runs)} |")
    mine, base = (statistics.mean(r["throughput_rps"] for r in rows[n]) for n in ("this checkout", args.base))
    print(f"\nthroughput ratio, this checkout / {args.base}: {mine / base:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
