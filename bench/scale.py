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
import json
import os
import platform
import statistics
import time
from pathlib import Path

from assistant.eval.metrics import percentile
from bench import corpus, query
from bench.backing_servers import ChromaServer
from bench.procstats import code_version, cpu_seconds, log, rss_mb
from bench.scale_build import ensure_index, keyword_cached
from bench.scale_replicas import run_replicas

ROOT = corpus.ROOT
# The indexes are built in bench/scale_build.py, the replica curve runs in bench/scale_replicas.py, and what it
# reads of processes comes from bench/procstats.py; this module measures the sizes and prints both parts.


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


# --- report ------------------------------------------------------------------------------------------


def _ms(a, b) -> str:
    return f"{a} / {b}" if a is not None else "–"


def print_sizes(rows: list[dict], builds: list[dict], questions: int) -> None:
    print(f"\nLatency and memory vs index size (default settings; {questions} answers and {questions} retrievals "
          "per row, distinct xquad-dev questions, a fresh process each)\n")
    print("| chunks | store | retrieval p50 / p95 ms | full answer p50 / p95 ms | retrieval's parts p50 ms: embed, "
          "vector store, BM25, manifest | app RSS MiB (peak) | Chroma server RSS MiB | Chroma server CPU ms per retrieval "
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
              + ", ".join(names) + " | replica RSS MiB |")
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
    os.environ["ASSISTANT_CONFIG"] = ""

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
