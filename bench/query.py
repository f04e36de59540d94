"""Query latency, memory and cold start at 1k, 10k and 100k chunks.

For each size, an index of the synthetic corpus (bench/corpus.py) is built
once with the default settings and cached in bench/out/indexes/. Then a fresh
process (so memory and cold start are its own) opens it and measures:

- cold start: from launching the process to its first answer (imports, model
  load, keyword index, the first question), both the first open after an
  ingest (which builds and saves the BM25 index) and a restart (which loads it);
- retrieval alone (`Assistant.retrieve`: embed the question, dense + BM25,
  fuse) and a full default answer (`Assistant.ask`), p50/p95 over distinct
  xquad-dev questions (different ones for each, so no cached vectors help),
  and the reader's part of each answer;
- resident memory (RSS) after the runs, and its peak.

With ``--collections N`` (#38), each size's index is also copied and its articles dealt round-robin into N
collections (``desk-01``…; they stay in ``default`` too), and a fresh process times, side by side over distinct
questions, retrieval scoped to one collection (``Filters(collections=...)``, a different one each time) against
unscoped retrieval over the same index, alternating which goes first; it also counts scoped passages from
outside their collection (it must be 0).

    .venv/bin/python -m bench.query [--sizes 1000,10000,100000] [--questions 200] [--json out.json]
    .venv/bin/python -m bench.query --sizes 100000 --collections 10 --only-collections
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from assistant.eval.metrics import percentile
from bench import corpus

ROOT = corpus.ROOT
INDEXES = ROOT / "bench" / "out" / "indexes"
QUESTIONS = ROOT.parent / "shared" / "evaldata" / "xquad-dev" / "questions.jsonl"


def build_index(size: int) -> Path:
    from assistant.core import Assistant
    from assistant.settings import load_settings

    index_dir = INDEXES / f"chunks-{size}"
    done = index_dir / ".complete"
    if done.exists():
        return index_dir
    folder = corpus.build(size)
    assistant = Assistant(load_settings(index_dir=index_dir))
    started = time.perf_counter()

    def progress(n: int, total: int, _path: str) -> None:
        if n % 200 == 0 or n == total:
            print(f"  building {size}-chunk index: {n}/{total} files, {time.perf_counter() - started:.0f} s", file=sys.stderr)

    report = assistant.ingest([folder], on_progress=progress)
    done.write_text(json.dumps({"chunks": report.chunks_added, "articles": len(report.added),
                                "seconds": round(time.perf_counter() - started, 1)}))
    return index_dir


def build_collections_index(size: int, collections: int) -> Path:
    """A copy of the ``size`` index whose articles are dealt round-robin into ``collections`` collections."""
    from assistant.core import Assistant
    from assistant.settings import load_settings

    index_dir = INDEXES / f"chunks-{size}-collections-{collections}"
    done = index_dir / ".complete"
    if done.exists():
        return index_dir
    source = build_index(size)
    shutil.rmtree(index_dir, ignore_errors=True)
    shutil.copytree(source, index_dir, ignore=shutil.ignore_patterns("write.lock", "keyword", ".complete"))
    assistant = Assistant(load_settings(index_dir=index_dir))
    started = time.perf_counter()
    names = [f"desk-{i:02d}" for i in range(1, collections + 1)]
    for name in names:  # the second one copies every vector into default's partition
        assistant.create_collection(name)
    ids = sorted(a.id for a in assistant.articles())
    for i, name in enumerate(names):
        assistant.add_to_collection(ids[i::collections], name)
        print(f"  {name}: {len(ids[i::collections])} articles, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    done.write_text(json.dumps({"collections": {c.name: c.chunks for c in assistant.collections()},
                                "seconds": round(time.perf_counter() - started, 1)}))
    return index_dir


def measure_collections(index_dir: Path, n_questions: int) -> dict:
    """Runs in a fresh process: scoped and unscoped retrieval over one index, side by side."""
    from assistant.core import Assistant
    from assistant.models import Filters
    from assistant.settings import load_settings

    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line.strip()]
    assistant = Assistant(load_settings(index_dir=index_dir))
    names = [c.name for c in assistant.collections() if c.name != "default"]
    members = {name: {a.id for a in assistant.articles([name])} for name in names}
    # Models, the keyword index and each collection's vectors loaded, as a running server has them.
    assistant.retrieve(questions[0])
    for name in names:
        assistant.retrieve(questions[0], Filters(collections=(name,)))
    unscoped_ms, scoped_ms, outside = [], [], 0
    pairs = list(zip(questions[1::2], questions[2::2]))[:n_questions]
    for i, (plain, scoped) in enumerate(pairs):
        name = names[i % len(names)]
        runs = [(plain, None), (scoped, name)]
        for question, collection in runs if i % 2 == 0 else runs[::-1]:
            filters = Filters(collections=(collection,)) if collection else None
            t = time.perf_counter()
            passages = assistant.retrieve(question, filters)
            (scoped_ms if collection else unscoped_ms).append((time.perf_counter() - t) * 1000)
            if collection:
                outside += sum(p.chunk.article_id not in members[collection] for p in passages)
    return {
        "chunks": assistant.status().vectors,
        "collections": len(names),
        "questions": len(pairs),
        "unscoped_p50_ms": round(statistics.median(unscoped_ms), 1),
        "unscoped_p95_ms": round(percentile(unscoped_ms, 95), 1),
        "scoped_p50_ms": round(statistics.median(scoped_ms), 1),
        "scoped_p95_ms": round(percentile(scoped_ms, 95), 1),
        "p95_ratio": round(percentile(scoped_ms, 95) / percentile(unscoped_ms, 95), 2),
        "scoped_passages_outside_their_collection": outside,
    }


def rss_kb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))


def measure(index_dir: Path, n_questions: int, launched: float) -> dict:
    """Runs in a fresh process: everything it loads counts toward cold start and memory."""
    from assistant.answer.reader import shipped
    from assistant.core import Assistant
    from assistant.settings import load_settings

    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines() if line.strip()]
    assistant = Assistant(load_settings(index_dir=index_dir))
    first = assistant.ask(questions[0])
    cold_start = time.time() - launched
    asked, retrieved = questions[1 : 1 + n_questions], questions[1 + n_questions : 1 + 2 * n_questions]
    answer_ms, retrieve_ms, reader_ms, sentences_read = [], [], [], []
    reader = shipped()
    read = reader.read
    spent: list[float] = []  # the reader's time in the answer being timed, one entry per run (a sentence each)

    def timed_read(question: str, sentences: list[str]):  # where an answer's time goes: the reader's share
        t = time.perf_counter()
        try:
            return read(question, sentences)
        finally:
            spent.append((time.perf_counter() - t) * 1000)

    reader.read = timed_read
    for q in asked:
        spent.clear()
        t = time.perf_counter()
        assistant.ask(q)
        answer_ms.append((time.perf_counter() - t) * 1000)
        if spent:
            reader_ms.append(sum(spent)), sentences_read.append(len(spent))
    reader.read = read
    for q in retrieved:
        t = time.perf_counter()
        assistant.retrieve(q)
        retrieve_ms.append((time.perf_counter() - t) * 1000)
    return {
        "chunks": assistant.status().vectors,
        "articles": assistant.status().articles,
        "cold_start_s": round(cold_start, 2),
        "first_answer_refused": first.refused,
        "retrieve_p50_ms": round(statistics.median(retrieve_ms), 1),
        "retrieve_p95_ms": round(percentile(retrieve_ms, 95), 1),
        "answer_p50_ms": round(statistics.median(answer_ms), 1),
        "answer_p95_ms": round(percentile(answer_ms, 95), 1),
        "reader_p50_ms": round(statistics.median(reader_ms), 1) if reader_ms else None,
        "reader_p95_ms": round(percentile(reader_ms, 95), 1) if reader_ms else None,
        "sentences_read_mean": round(statistics.mean(sentences_read), 2) if sentences_read else None,
        "rss_mb": round(rss_kb() / 1024),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def run_worker(index_dir: Path, questions: int, module: str = "bench.query", mode: str = "--measure",
               **settings: str) -> dict:
    """Measure in a fresh process (``python -m module --measure``, so memory and cold start are its own), with
    ``settings`` as ASSISTANT_* variables; the figures it printed last."""
    launched = time.time()
    env = {**os.environ, **{f"ASSISTANT_{name.upper()}": value for name, value in settings.items()}}
    done = subprocess.run(
        [sys.executable, "-m", module, mode, str(index_dir), "--launched", str(launched), "--questions",
         str(questions)],
        capture_output=True, text=True, cwd=ROOT, env=env, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the measuring process failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--questions", type=int, default=200, help="questions per measurement")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--collections", type=int, default=0,
                        help="also time retrieval scoped to one of N collections against unscoped, side by side")
    parser.add_argument("--only-collections", action="store_true", help="only that (with --collections)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # worker mode
    parser.add_argument("--measure-collections", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--launched", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.measure:
        print(json.dumps(measure(args.measure, args.questions, args.launched)))
        return {}
    if args.measure_collections:
        print(json.dumps(measure_collections(args.measure_collections, args.questions)))
        return {}

    machine = f"{os.cpu_count()} cores, {platform.machine()}, no GPU"
    scoped_rows = []
    for size in [int(s) for s in args.sizes.split(",")] if args.collections else []:
        index_dir = build_collections_index(size, args.collections)
        row = run_worker(index_dir, args.questions, mode="--measure-collections")
        scoped_rows.append(row)
        print(f"  measured {size} in {args.collections} collections: {row}", file=sys.stderr)
    if scoped_rows:
        print(f"\nRetrieval scoped to one collection against unscoped, side by side ({args.questions} distinct "
              f"questions each, alternating), {machine}\n")
        print("| chunks | collections | unscoped p50 / p95 ms | scoped p50 / p95 ms | p95 scoped / unscoped "
              "| scoped passages outside their collection |")
        print("|---|---|---|---|---|---|")
        for r in scoped_rows:
            print(f"| {r['chunks']:,} | {r['collections']} | {r['unscoped_p50_ms']} / {r['unscoped_p95_ms']} | "
                  f"{r['scoped_p50_ms']} / {r['scoped_p95_ms']} | {r['p95_ratio']} | "
                  f"{r['scoped_passages_outside_their_collection']} |")
    if args.only_collections:
        result = {"machine": machine, "collections": scoped_rows}
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=2))
        return result

    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        index_dir = build_index(size)
        # First open after an ingest builds (and saves) the keyword index; later starts load it.
        shutil.rmtree(index_dir / "keyword", ignore_errors=True)
        first = run_worker(index_dir, 1)
        row = {"target": size, **run_worker(index_dir, args.questions), "first_open_s": first["cold_start_s"]}
        # The same with the reader reading every candidate sentence, never stopping early: what the preselection
        # and the stop score save.
        every = run_worker(index_dir, args.questions, reader_sentences="0", reader_stop_score="1e9")
        row |= {"all_answer_p50_ms": every["answer_p50_ms"], "all_answer_p95_ms": every["answer_p95_ms"]}
        rows.append(row)
        print(f"  measured {size}: {row}", file=sys.stderr)

    print(f"\nQuery latency (default settings, {args.questions} questions each), {machine}\n")
    print("| chunks | retrieval p50 / p95 ms | full answer p50 / p95 ms | its reader p50 / p95 ms (sentences read) "
          "| the reader reading every candidate: full answer | RSS MiB (peak) "
          "| cold start to first answer s: restart (first open after ingest) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['chunks']:,} | {r['retrieve_p50_ms']} / {r['retrieve_p95_ms']} | {r['answer_p50_ms']} / "
              f"{r['answer_p95_ms']} | {r['reader_p50_ms']} / {r['reader_p95_ms']} ({r['sentences_read_mean']}) | "
              f"{r['all_answer_p50_ms']} / {r['all_answer_p95_ms']} | "
              f"{r['rss_mb']} ({r['peak_rss_mb']}) | {r['cold_start_s']} ({r['first_open_s']}) |")
    result = {"machine": machine, "rows": rows, **({"collections": scoped_rows} if scoped_rows else {})}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
