"""Scale curve (#20): latency and memory against index size, embedded store against a Chroma server, and
requests/s against the number of `assistant serve` replicas behind HAProxy.

Part 1, sizes x stores (--sizes, --stores). For each size an index is built once and cached under
bench/out/indexes/ (resumable; marked complete only when done), then a fresh process per store (so
memory and cold start are its own) takes bench/query.py's measurement: retrieval alone
(`Assistant.retrieve`) and the full default answer (`Assistant.ask`), p50/p95 over distinct xquad-dev
questions, its RSS and cold start; then, over the questions left, retrieval's parts one by one
(embedding the question, the vector store's search, BM25, the manifest lookups):

- embedded: the default on-disk store (Chroma inside the app process);
- server: the same index served by a real `chroma run` on 127.0.0.1 (ASSISTANT_CHROMA_URL), started
  with --path on the index's own chroma/ folder, so both stores answer from the very same vectors and
  the server needs no second build. Its RSS and CPU are reported beside the app's.

Sizes up to --synth-base (default 100,000) are really embedded: bench/query.py's cached indexes and
corpus (bench/corpus.py), resumed when a build was left partial. A larger size is SYNTHESISED, not
embedded (1M chunks would take ~3.5 hours at the ~80 chunks/s of a quiet 2-core machine, 11 at the
25 chunks/s measured beside other work): the --synth-base index is copied, then
copies of each of its articles are added until the size is reached, each chunk's vector a perturbed copy
of the real chunk's (Gaussian noise, renormalised, cosine --noise-cos to the original; real chunks of
this corpus have a median nearest-neighbour cosine of ~0.97) and its text the real chunk's sentences
shuffled, one replaced by a sentence of another chunk. They are written through the project's own
`Index.write` (Chroma upsert, then the manifest commit), with an embedder stand-in that hands over the
precomputed vectors. Retrieval then really searches 1M vectors (HNSW) and a 1M-document BM25 index, but
the texts are not new prose, so answer quality at that point means nothing; only its speed and memory do.
A synthesised build that passes --build-budget-min stops there (consistent: it commits per batch), is
measured at the size it reached and says so (run again with --resume-builds to go on).

Part 2, replicas (--replicas): one PostgreSQL, one Chroma server, one Redis (when installed) and HAProxy,
all on 127.0.0.1 (bench/backing_servers.py), and N `assistant serve` processes, each with its own
ASSISTANT_INDEX_DIR (standing for separate hosts) and ASSISTANT_DATABASE_URL, ASSISTANT_CHROMA_URL,
ASSISTANT_REDIS_URL pointing at the shared servers. A small index (seeds/ and xquad-dev's articles) is
ingested once through the shared servers with `assistant ingest` (timed). With the manifest in
PostgreSQL the replicas share it; with a code version that still keeps it in the index folder, that
folder is copied to every replica (the output says which). Every replica first answers the same
--warmup-questions, unmeasured (its own caches of question and sentence vectors fill, as a long-running
replica's would); then --clients concurrent clients POST /api/ask through HAProxy for --duration s,
--repeat times (questions from the rest of xquad-dev and the seed set, not repeated until they run
out), and for 1 replica also straight at it, alternated (what the balancer costs). Reported:
requests/s, p50/p95, errors, and where the CPU went (each replica, HAProxy, Chroma, PostgreSQL, Redis,
this bench's own clients, the rest of the machine), from /proc. A last run SIGKILLs one replica
half-way: what a replica buys on 2 cores is that answers keep coming, not more of them. With
--redispatch, HAProxy retries a connection that fails on another replica (retries 3, option redispatch 1),
which bench/backing_servers.py's configuration does not: then only the requests in flight on the killed
replica fail, not the ones sent to it before its health checks take it out.

    nice -n 10 .venv/bin/python -m bench.scale --sizes 10000,100000,1000000 --stores embedded,server \\
        --replicas 1,2,4 --json bench/out/scale.json
    .venv/bin/python -m bench.scale --sizes 1000 --questions 50 --replicas 1,2 --duration 10 --repeat 1 \\
        --warmup-questions 40                                                                    # quick check
    .venv/bin/python -m bench.scale --sizes 20000 --synth-base 10000 --replicas ""           # synthesis, small

--sizes "" or --replicas "" skips that part. Other work on the machine skews every figure: the machine
load is printed with them.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import re
import resource
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.eval.metrics import percentile
from bench import corpus, query
from bench.backing_servers import ChromaServer, HAProxy, PostgresServer, RedisServer, free_port

ROOT = corpus.ROOT


INDEXES = query.INDEXES
EVALDATA = ROOT.parent / "shared" / "evaldata"
REPLICA_CORPUS = [ROOT / "seeds", EVALDATA / "xquad-dev" / "articles"]
REPLICA_QUESTIONS = [EVALDATA / "xquad-dev" / "questions.jsonl", EVALDATA / "seed" / "questions.jsonl"]
# So that the per-key rate limit (60/min by default) never turns the load into 429s: the bench measures the server.
BENCH_RATE_PER_MINUTE = 10_000_000
TICKS = os.sysconf("SC_CLK_TCK")
SYNTH_BATCH_CHUNKS = 4000  # chunks per Index.write of a synthesised build (Chroma's cap per call)
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def log(message: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- /proc: memory and CPU of process trees ------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from 3 (state) on; comm may hold spaces


def process_tree(root: int) -> list[int]:
    """``root`` and every live descendant."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(root: int | None) -> float:
    """CPU time (user + system) of a process tree so far, children it has reaped included."""
    if root is None:
        return 0.0
    total = 0
    for pid in process_tree(root):
        fields = _stat(pid)
        if fields:  # utime, stime, cutime, cstime are fields 14-17, i.e. [11:15] here
            total += sum(int(v) for v in fields[11:15])
    return total / TICKS


def rss_mb(root: int | None) -> float | None:
    """Resident memory of a process tree in MiB (VmRSS summed; shared pages count once per process)."""
    if root is None:
        return None
    total = 0
    for pid in process_tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1) if total else None


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def code_version() -> dict:
    """Which assistant code is measured: its folder, and for this checkout the commit and uncommitted changes."""
    import assistant

    package = Path(assistant.__file__).resolve().parent
    found = {"package": str(package)}
    if (package.parent / "COMMIT").exists():  # an export of a commit (git archive), as the benches may run on
        found["commit"] = (package.parent / "COMMIT").read_text().strip()
    if package == ROOT / "assistant":
        try:
            found["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                             text=True, check=True).stdout.strip()
            changed = subprocess.run(["git", "status", "--porcelain", "assistant"], cwd=ROOT, capture_output=True,
                                     text=True, check=True).stdout.splitlines()
            found["uncommitted_files_under_assistant"] = len(changed)
        except (OSError, subprocess.CalledProcessError):
            pass
    return found


# --- part 1: the indexes ---------------------------------------------------------------------------


def manifest_counts(index_dir: Path) -> tuple[int, int]:
    """(articles, chunks) the manifest lists, read-only; (0, 0) when there is none yet."""
    path = index_dir / "manifest.sqlite3"
    if not path.exists():
        return 0, 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return (db.execute("SELECT COUNT(*) FROM articles").fetchone()[0],
                db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
    except sqlite3.OperationalError:  # created, no tables yet
        return 0, 0
    finally:
        db.close()


def manifest_generation(index_dir: Path) -> int:
    db = sqlite3.connect(f"file:{index_dir / 'manifest.sqlite3'}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0
    finally:
        db.close()


def keyword_cached(index_dir: Path) -> bool:
    """Whether the BM25 index of the manifest's generation is saved (else the next open builds it)."""
    return (index_dir / "keyword" / f"gen-{manifest_generation(index_dir)}" / "chunks.json").exists()


def build_real(size: int) -> dict:
    """bench/query.py's cached index of ``size`` chunks, really embedded; resumes a partial one.

    The same folder and corpus as query.py's build_index (either bench reuses the other's), but the
    ``.complete`` marker also says what this run found already there, so a resumed build's time is not
    passed off as a whole build's."""
    from assistant.core import Assistant
    from assistant.settings import load_settings

    index_dir = INDEXES / f"chunks-{size}"
    done = index_dir / ".complete"
    if done.exists():
        return json.loads(done.read_text()) | {"index_dir": str(index_dir)}
    folder = corpus.build(size)
    articles_before, chunks_before = manifest_counts(index_dir)
    files = sorted(folder.glob("*.txt"))
    log(f"building the {size:,}-chunk index (really embedded): {len(files):,} files, "
        f"{chunks_before:,} chunks of {articles_before:,} articles already there"
        + (" (resuming a partial build)" if chunks_before else ""))
    started = time.perf_counter()
    assistant = Assistant(load_settings(index_dir=index_dir))

    def progress(n: int, total: int, _path: str) -> None:
        if n % 250 == 0 or n == total:
            log(f"  {size:,}: {n:,}/{total:,} files, {time.perf_counter() - started:.0f} s")

    report = assistant.ingest([folder], on_progress=progress)
    seconds = time.perf_counter() - started
    if report.failed:
        raise RuntimeError(f"building the {size}-chunk index: {len(report.failed)} files failed, e.g. {report.failed[0]}")
    articles, chunks = manifest_counts(index_dir)
    record = {
        "chunks": chunks, "articles": articles, "seconds": round(seconds, 1),
        "chunks_added": report.chunks_added, "resumed_from_chunks": chunks_before,
        "embedded_chunks_per_s": round(report.chunks_added / seconds, 1) if seconds else None,
        "built_by": "bench/scale.py", "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    done.write_text(json.dumps(record))
    return record | {"index_dir": str(index_dir)}


class _Precomputed:
    """Stands in for the embedder in ``Index.write``: hands over the vectors set for the next batch."""

    kind = "synthetic"

    def __init__(self, name: str):
        self.name = name
        self.pending: np.ndarray | None = None

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors, self.pending = self.pending, None
        assert vectors is not None and len(vectors) == len(texts), "vectors not set for this batch"
        return vectors


def noise_sigma(cosine: float, dimension: int) -> float:
    """Per-dimension sigma of Gaussian noise that moves a unit vector to ``cosine`` of itself (once renormalised)."""
    return ((1 / cosine**2 - 1) / dimension) ** 0.5


def _base_rows(base_dir: Path) -> tuple[list[tuple], dict[str, list[tuple]]]:
    db = sqlite3.connect(f"file:{base_dir / 'manifest.sqlite3'}?mode=ro", uri=True)
    try:
        articles = db.execute("SELECT id, title, text, source, url, published FROM articles ORDER BY rowid").fetchall()
        chunks: dict[str, list[tuple]] = {}
        for chunk_id, article_id, text in db.execute("SELECT id, article_id, text FROM chunks ORDER BY article_id, start"):
            chunks.setdefault(article_id, []).append((chunk_id, text))
    finally:
        db.close()
    return articles, chunks


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite file (WAL included)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def build_synthetic(size: int, base_size: int, *, budget_s: float, noise_cos: float, resume: bool,
                    seed: int = 20) -> dict:
    """An index of ``size`` chunks synthesised from the real ``base_size`` one (see the module docstring)."""
    from assistant.index import Index
    from assistant.models import Article, Chunk
    from assistant.settings import load_settings

    index_dir = INDEXES / f"synthetic-{size}-from-{base_size}"
    done, stopped, state_file = index_dir / ".complete", index_dir / ".stopped", index_dir / ".synthesis.json"
    if done.exists():
        return json.loads(done.read_text()) | {"index_dir": str(index_dir)}
    if stopped.exists() and not resume:
        return json.loads(stopped.read_text()) | {"index_dir": str(index_dir)}
    base = build_real(base_size)
    base_dir = Path(base["index_dir"])
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    started = time.perf_counter()
    if not state.get("base_copied"):
        log(f"synthesising {size:,} chunks: copying the real {base['chunks']:,}-chunk index first")
        shutil.rmtree(index_dir, ignore_errors=True)
        index_dir.mkdir(parents=True)
        _copy_sqlite(base_dir / "manifest.sqlite3", index_dir / "manifest.sqlite3")
        shutil.copytree(base_dir / "chroma", index_dir / "chroma")  # the keyword index is not copied: it changes
        state = {"base_copied": True, "seconds": round(time.perf_counter() - started, 1), "runs": 0}
        state_file.write_text(json.dumps(state))
    state["runs"] = state.get("runs", 0) + 1
    previous_s = state.get("seconds", 0.0)

    base_articles, base_chunks = _base_rows(base_dir)
    settings = load_settings(index_dir=index_dir)
    # Index checks the embedder's name against the one the index recorded: the stand-in takes that name.
    db = sqlite3.connect(f"file:{index_dir / 'manifest.sqlite3'}?mode=ro", uri=True)
    embedder = _Precomputed(db.execute("SELECT value FROM meta WHERE key = 'embedder'").fetchone()[0])
    present = {row[0] for row in db.execute("SELECT id FROM articles")}
    db.close()
    index = Index(settings, embedder)  # type: ignore[arg-type]
    if state["runs"] > 1:
        swept = index.sweep_orphans()  # vectors of a batch whose manifest commit never came (a killed run)
        if swept:
            log(f"  swept {swept:,} orphaned vectors of an interrupted run")
    _, have = manifest_counts(index_dir)
    log(f"synthesising {size:,} chunks from the real {base['chunks']:,} (copies of its articles, perturbed vectors "
        f"at cosine {noise_cos} to the real ones): {have:,} there, budget {budget_s / 60:.0f} min, "
        f"{previous_s:.0f} s spent before")

    ids = [cid for a in base_articles for cid, _ in base_chunks.get(a[0], [])]
    vectors: dict[str, np.ndarray] = {}
    for i in range(0, len(ids), SYNTH_BATCH_CHUNKS):
        vectors.update(index.store.vectors(ids[i : i + SYNTH_BATCH_CHUNKS]))
    all_sentences = [s for _, chunks in base_chunks.items() for _, text in chunks for s in SENTENCE.split(text)]
    sigma = noise_sigma(noise_cos, len(next(iter(vectors.values()))))
    rng = np.random.default_rng(seed)
    cosines: list[float] = []

    def copy_of(article: tuple, copy: int) -> tuple[Article, list[Chunk], np.ndarray]:
        article_id, title, _text, source, url, published = article
        pick = random.Random(f"{seed}:{copy}:{article_id}")
        texts = []
        for _, text in base_chunks[article_id]:
            sentences = SENTENCE.split(text)
            pick.shuffle(sentences)
            if len(sentences) > 1:
                sentences[pick.randrange(len(sentences))] = pick.choice(all_sentences)
            texts.append(" ".join(sentences))
        head = f"{title} (synthetic copy {copy})\n\n"
        body = "\n\n".join(texts)
        full = head + body
        digest = hashlib.sha256(full.encode()).hexdigest()
        new_id = f"{article_id}-syn{copy}"
        chunks, offset = [], len(head)
        for n, text in enumerate(texts):
            chunks.append(Chunk(id=f"{new_id}:{digest[:12]}:{n}", article_id=new_id, text=text,
                                start=offset, end=offset + len(text)))
            offset += len(text) + 2
        real = np.stack([vectors[cid] for cid, _ in base_chunks[article_id]])
        moved = real + rng.normal(0.0, sigma, real.shape).astype(np.float32)
        moved /= np.linalg.norm(moved, axis=1, keepdims=True)
        cosines.extend(np.sum(moved * real, axis=1)[:4].tolist())
        return (Article(id=new_id, title=f"{title} (synthetic copy {copy})", text=full,
                        source=f"synthetic-copy-{copy}/{source}", url=url, published=published, content_hash=digest),
                chunks, moved)

    total, written, batch, batch_vectors, reason = have, 0, [], [], "target reached"
    copy = 0
    while total < size:
        copy += 1
        for article in base_articles:
            if total >= size:
                break
            if article[0] not in base_chunks:
                continue
            new_id = f"{article[0]}-syn{copy}"
            if new_id in present:
                continue
            synthetic, chunks, moved = copy_of(article, copy)
            batch.append((synthetic, chunks))
            batch_vectors.append(moved)
            total += len(chunks)
            if sum(len(c) for _, c in batch) >= SYNTH_BATCH_CHUNKS or total >= size:
                embedder.pending = np.concatenate(batch_vectors)
                written += index.write(batch)
                batch, batch_vectors = [], []
                spent = previous_s + time.perf_counter() - started
                state["seconds"] = round(spent, 1)
                state_file.write_text(json.dumps(state))
                if written and written % (SYNTH_BATCH_CHUNKS * 25) < SYNTH_BATCH_CHUNKS:
                    log(f"  {total:,}/{size:,} chunks, {spent:.0f} s, "
                        f"{written / (time.perf_counter() - started):.0f} chunks/s this run")
                if spent > budget_s and total < size:
                    reason = f"stopped at the {budget_s / 60:.0f}-minute build budget"
                    break
        if reason != "target reached":
            break
    if batch:  # only when the loop ended without flushing (nothing left to add)
        embedder.pending = np.concatenate(batch_vectors)
        written += index.write(batch)
    spent = previous_s + time.perf_counter() - started
    articles, chunks = manifest_counts(index_dir)
    record = {
        "chunks": chunks, "articles": articles, "target": size, "seconds": round(spent, 1),
        "synthesised": True, "base_chunks": base["chunks"], "base_build": {k: base.get(k) for k in
                                                                           ("seconds", "chunks_added", "resumed_from_chunks")},
        "noise_cos": noise_cos, "measured_cos_mean": round(float(np.mean(cosines)), 4) if cosines else None,
        "written_this_run": written, "runs": state["runs"],
        "written_chunks_per_s": round(written / (time.perf_counter() - started), 1) if written else None,
        "how": reason, "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if reason == "target reached":
        done.write_text(json.dumps(record))
        stopped.unlink(missing_ok=True)
    else:
        stopped.write_text(json.dumps(record))
    log(f"  synthesised index: {chunks:,} chunks ({reason}) in {spent:.0f} s")
    return record | {"index_dir": str(index_dir)}


def ensure_index(size: int, args: argparse.Namespace) -> dict:
    if size <= args.synth_base:
        record = build_real(size)
        return record | {"how": "real" + (" (resumed)" if record.get("resumed_from_chunks") else ""),
                         "synthesised": False}
    return build_synthetic(size, args.synth_base, budget_s=args.build_budget_min * 60, noise_cos=args.noise_cos,
                           resume=args.resume_builds)


# --- part 1: the measurements ----------------------------------------------------------------------


def retrieval_parts(index_dir: Path, questions: list[str]) -> dict:
    """Where retrieval's time goes, per fresh question: embedding it, the vector store's search, BM25, and the
    manifest lookups of both sides' hits (what HybridRetriever.search does, timed piece by piece)."""
    from assistant.core import Assistant
    from assistant.settings import load_settings

    assistant = Assistant(load_settings(index_dir=index_dir))
    retriever = assistant.retriever
    pool = max(assistant.settings.top_k * 4, 20)
    keyword = retriever.keyword_index()
    parts: dict[str, list[float]] = {"embed": [], "vector_store": [], "bm25": [], "manifest": []}
    for question in questions:
        question = assistant.validate_question(question)
        t0 = time.perf_counter()
        vector = assistant.embedder.encode_one(question)
        t1 = time.perf_counter()
        hits = assistant.index.store.query(vector, pool * 2 + 8)  # as Index.dense_search over-fetches
        t2 = time.perf_counter()
        keyword_ids = keyword.search(question, pool)
        t3 = time.perf_counter()
        assistant.index.manifest.chunks([h.id for h in hits])
        assistant.index.manifest.chunks(keyword_ids)
        t4 = time.perf_counter()
        for name, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            parts[name].append(seconds * 1000)
    return {f"{name}_p50_ms": round(statistics.median(ms), 2) for name, ms in parts.items()} | {
        f"{name}_p95_ms": round(percentile(ms, 95), 2) for name, ms in parts.items()} | {"parts_questions": len(questions)}


def worker(index_dir: Path, questions: int, launched: float) -> dict:
    """A fresh process: bench/query.py's measurement (so the figures compare with its), then retrieval's parts
    over the questions it did not use."""
    figures = query.measure(index_dir, questions, launched)
    every = [json.loads(line)["question"] for line in query.QUESTIONS.read_text().splitlines() if line.strip()]
    figures |= retrieval_parts(index_dir, every[1 + 2 * questions:])
    figures["rss_after_parts_mb"] = round(query.rss_kb() / 1024)
    return figures


def run_worker(index_dir: Path, questions: int, **settings: str) -> dict:
    return query.run_worker(index_dir, questions, module="bench.scale", **settings)


def measure_store(index_dir: Path, store: str, questions: int) -> dict:
    """bench/query.py's worker (a fresh process) over one index and store; a first open first if BM25 is unsaved."""
    row: dict = {"store": store}
    if store == "embedded":
        if not keyword_cached(index_dir):
            log(f"  {index_dir.name}: first open (builds and saves the BM25 index)")
            row["first_open_s"] = query.run_worker(index_dir, 1)["cold_start_s"]
        log(f"  {index_dir.name}, embedded store: {questions} answers and {questions} retrievals")
        return row | run_worker(index_dir, questions)
    with ChromaServer(data=index_dir / "chroma") as chroma:
        pid = chroma.process.pid
        row["chroma_server_start_rss_mb"] = rss_mb(pid)
        if not keyword_cached(index_dir):
            row["first_open_s"] = query.run_worker(index_dir, 1, chroma_url=chroma.url)["cold_start_s"]
        _warm_chroma(chroma)  # its HNSW index loads on the first query: not counted in its CPU per query below
        row["chroma_server_warm_rss_mb"] = rss_mb(pid)
        log(f"  {index_dir.name}, Chroma server (pid {pid}, {chroma.url}): {questions} answers and retrievals")
        cpu_before = cpu_seconds(pid)
        row |= run_worker(index_dir, questions, chroma_url=chroma.url)
        row["chroma_server_rss_mb"] = rss_mb(pid)
        retrievals = 1 + 2 * questions + row["parts_questions"]  # each: one query (and a get of keyword-only hits)
        row["chroma_server_cpu_ms_per_retrieval"] = round((cpu_seconds(pid) - cpu_before) * 1000 / retrievals, 2)
    return row


def _warm_chroma(chroma: ChromaServer) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.HttpClient(host="127.0.0.1", port=chroma.port, settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_collection("articles")
    first = collection.get(limit=1, include=["embeddings"])["embeddings"]
    if len(first):
        collection.query(query_embeddings=[first[0]], n_results=10)


def run_sizes(sizes: list[int], stores: list[str], args: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    rows, builds = [], []
    for size in sizes:
        build = ensure_index(size, args)
        index_dir = Path(build["index_dir"])
        builds.append({"target": size, **{k: v for k, v in build.items() if k != "index_dir"},
                       "index": index_dir.name})
        for store in stores:
            load_before = os.getloadavg()[0]
            row = measure_store(index_dir, store, args.questions)
            row |= {"target": size, "synthesised": build.get("synthesised", False), "index": index_dir.name,
                    "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}
            rows.append(row)
            log(f"  measured {index_dir.name} / {store}: {row}")
    return rows, builds


# --- part 2: replicas ------------------------------------------------------------------------------


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
            _copy_sqlite(item, target / item.name)
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
            "ASSISTANT_CONFIG": str(tmp / "no-such-assistant.toml"),  # never the developer's settings file
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


# --- report ------------------------------------------------------------------------------------------


def _ms(a, b) -> str:
    return f"{a} / {b}" if a is not None else "–"


def print_sizes(rows: list[dict], builds: list[dict], questions: int) -> None:
    print(f"\nLatency and memory vs index size (default settings; {questions} answers and {questions} retrievals "
          "per row, distinct xquad-dev questions, a fresh process each)\n")
    print("| chunks | store | retrieval p50 / p95 ms | full answer p50 / p95 ms | retrieval's parts p50 ms: embed, "
          "vector store, BM25, manifest | app RSS MB (peak) | Chroma server RSS MB | Chroma server CPU ms per retrieval "
          "| cold start s (first open) | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        chunks = f"{r['chunks']:,}" + (" (synthesised)" if r["synthesised"] else "")
        server = r["store"] == "server"
        parts = ", ".join(str(r.get(f"{p}_p50_ms", "–")) for p in ("embed", "vector_store", "bm25", "manifest"))
        print(f"| {chunks} | {'Chroma server' if server else 'embedded'} | {_ms(r['retrieve_p50_ms'], r['retrieve_p95_ms'])} "
              f"| {_ms(r['answer_p50_ms'], r['answer_p95_ms'])} | {parts} | {r['rss_mb']} ({r['peak_rss_mb']}) "
              f"| {r.get('chroma_server_rss_mb', '–') if server else '–'} "
              f"| {r.get('chroma_server_cpu_ms_per_retrieval', '–') if server else '–'} "
              f"| {r['cold_start_s']}" + (f" ({r['first_open_s']})" if r.get("first_open_s") else "")
              + f" | {r['load_before']}→{r['load_after']} |")
    print("\nBuilds\n")
    print("| index | chunks | how | build s | chunks/s | notes |")
    print("|---|---|---|---|---|---|")
    for b in builds:
        if b.get("synthesised"):
            how = f"synthesised from the real {b['base_chunks']:,}: {b['how']}"
            rate = b.get("written_chunks_per_s")
            notes = (f"vectors: perturbed copies, cosine {b['noise_cos']} to the real ones (measured "
                     f"{b['measured_cos_mean']}); {b['runs']} run(s); seconds include copying the base index")
        else:
            how = b["how"]
            rate = b.get("embedded_chunks_per_s")
            notes = (f"resumed: {b['resumed_from_chunks']:,} chunks were there, {b['chunks_added']:,} embedded in this "
                     "time" if b.get("resumed_from_chunks") else ("really embedded" if "chunks_added" in b
                                                                  else "built by bench/query.py"))
        print(f"| {b['index']} | {b['chunks']:,} | {how} | {b['seconds']} | {rate or '–'} | {notes} |")


def print_replicas(result: dict) -> None:
    print(f"\nReplicas x requests/s (POST /api/ask; manifest {result['manifest']}; index ingested through the "
          f"shared servers in {result['ingest_s']} s; every replica warmed with {result['questions']['warm_up_per_replica']}"
          f" questions, then {result['questions']['measured_distinct']} others asked in turn"
          + ("; HAProxy with retries on another replica" if result.get("redispatch") else "") + ")\n")
    runs = [r for r in result["runs"] if "kill" not in r]
    names = ["replicas", "haproxy", "chroma", "postgres", "redis", "bench clients", "rest of the machine"]
    names = [n for n in names if any(n in r["cpu_ms_per_answer"] or n == "replicas" for r in runs)]
    if runs:
        print("| replicas | via (run) | clients | answers/s | p50 / p95 ms | errors | machine busy % | CPU ms per answer: "
              + ", ".join(names) + " | replica RSS MB |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in runs:
            per = {name: None for name in names} | {"replicas": 0.0}
            each = []
            for name, value in r["cpu_ms_per_answer"].items():
                if name.startswith("replica "):
                    per["replicas"] += value or 0
                    each.append(f"{value}")
                else:
                    per[name] = value
            cells = ", ".join(f"{per[n]:.1f}" + (f" ({' + '.join(each)})" if n == "replicas" and len(each) > 1 else "")
                              if per[n] is not None else "–" for n in names)
            print(f"| {r['replicas']} | {r['via']} ({r['run']}) | {r['clients']} | {r['requests_per_s']} | {_ms(r['p50_ms'], r['p95_ms'])} "
                  f"| {r['errors']} | {r['machine_busy_pct_of_all_cores']} | {cells} "
                  f"| {', '.join(str(round(v)) for v in r['replica_rss_mb'])} |")
    kills = [r for r in result["runs"] if "kill" in r]
    if kills:
        print("\nOne replica SIGKILLed half-way through the load (HAProxy checks /ready every second and takes a "
              "replica out after 3 failed checks" + ("; failed connections retried on another replica" if
                                                     result.get("redispatch") else "") + ")\n")
        print("| replicas | killed at s | answers/s before → after | answers after | errors after (kinds) "
              "| longest gap without an answer s | p50 / p95 ms after |")
        print("|---|---|---|---|---|---|---|")
        for r in kills:
            k = r["kill"]
            print(f"| {r['replicas']} | {k['killed_at_s']} | {k['requests_per_s_before']} → {k['requests_per_s_after']} "
                  f"| {k['ok_after']} | {k['errors_after']} {r['errors_by_kind'] or ''} "
                  f"| {k['longest_gap_without_an_answer_s']} | {_ms(k['latency_after']['p50_ms'], k['latency_after']['p95_ms'])} |")
    for n, rows in result.get("postgres_rows", {}).items():
        print(f"PostgreSQL after the runs with {n} replica(s): " + ", ".join(f"{t} {c:,} rows" for t, c in rows.items()))
    for note in result["notes"]:
        print(f"note: {note}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help='chunks per index, comma-separated ("" skips)')
    parser.add_argument("--stores", default="embedded,server", help="embedded, server or both")
    parser.add_argument("--questions", type=int, default=200, help="answers (and as many retrievals) per row")
    parser.add_argument("--synth-base", type=int, default=100_000,
                        help="largest really embedded size; larger sizes are synthesised from it")
    parser.add_argument("--noise-cos", type=float, default=0.95, help="cosine of a synthesised vector to its real one")
    parser.add_argument("--build-budget-min", type=float, default=40,
                        help="a synthesised build stops after this many minutes and is measured where it got")
    parser.add_argument("--resume-builds", action="store_true", help="go on with a synthesised build stopped at its budget")
    parser.add_argument("--replicas", default="1,2,4", help='replica counts, comma-separated ("" skips)')
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients of the replicas")
    parser.add_argument("--duration", type=float, default=30, help="seconds of load per run")
    parser.add_argument("--repeat", type=int, default=2, help="measured runs per replica count (each reported)")
    parser.add_argument("--warmup-questions", type=int, default=150,
                        help="questions every replica answers, unmeasured, before the runs (never asked in them)")
    parser.add_argument("--no-kill", dest="kill", action="store_false", help="skip the runs that kill a replica")
    parser.add_argument("--no-direct", dest="direct", action="store_false",
                        help="skip the run straight at the single replica (without the balancer)")
    parser.add_argument("--redispatch", action="store_true",
                        help="HAProxy retries a failed connection on another replica (not in backing_servers' config)")
    parser.add_argument("--no-redis", dest="redis", action="store_false", help="no Redis (ASSISTANT_REDIS_URL)")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # worker mode
    parser.add_argument("--launched", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(worker(args.measure, args.questions, args.launched)))
        return {}
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    counts = [int(s) for s in args.replicas.split(",") if s.strip()]
    if unknown := set(stores) - {"embedded", "server"}:
        parser.error(f"unknown store(s) {sorted(unknown)}: embedded, server")
    # The bench says which store each row uses: none of the developer's own settings leak into the workers.
    for name in ("ASSISTANT_CHROMA_URL", "ASSISTANT_DATABASE_URL", "ASSISTANT_REDIS_URL", "ASSISTANT_INDEX_DIR",
                 "ASSISTANT_COLLECTION"):
        os.environ.pop(name, None)
    os.environ["ASSISTANT_CONFIG"] = str(ROOT / "bench" / "out" / "no-such-assistant.toml")

    machine = f"{os.cpu_count()} cores, {platform.machine()}, no GPU"
    result: dict = {"machine": machine, "code": code_version(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    log(f"{machine}; code {result['code']}")
    if sizes:
        rows, builds = run_sizes(sizes, stores, args)
        result |= {"sizes": rows, "builds": builds}
    if counts:
        result["replicas"] = run_replicas(counts, args)
    print(f"\n{machine}; code: {result['code']}")
    if sizes:
        print_sizes(result["sizes"], result["builds"], args.questions)
    if counts:
        print_replicas(result["replicas"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
