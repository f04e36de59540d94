"""Ingest throughput against the raw encoder, per embedding runtime, in one run.

For each embedder: ingest a synthetic corpus (bench/corpus.py, >= 5,000 chunks)
into a fresh index with `Assistant.ingest`, then encode the very same chunk
texts with the bare encoder at the same batch size. Their ratio is what the
pipeline (loading, cleaning, chunking, Chroma, the manifest) costs on top of
embedding. The bare encoder for torch is sentence-transformers itself; for the
ONNX runtimes it is the ONNX Runtime session with pooling.

Also prints each runtime's speed relative to torch and how close its vectors
are to torch's (cosine on a sample), which is the ONNX/int8 quality check.

    .venv/bin/python -m bench.ingest [--chunks 5000] [--embedders onnx-int8,onnx,torch] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from assistant.core import Assistant
from assistant.embeddings import get_embedder
from assistant.settings import load_settings
from bench import corpus

QUALITY_SAMPLE = 1000


def raw_encode_seconds(kind: str, texts: list[str], batch_size: int) -> float:
    embedder = get_embedder(kind, batch_size)
    if kind == "torch":  # the bare sentence-transformers call, as a user of the library would make it
        model = embedder.model
        model.encode(texts[:batch_size], batch_size=batch_size)
        started = time.perf_counter()
        model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    else:
        embedder.encode(texts[:batch_size])
        started = time.perf_counter()
        embedder.encode(texts)
    return time.perf_counter() - started


def measure(kind: str, folder: Path, batch_size: int) -> tuple[dict, list[str]]:
    """The runtime's ingest and bare-encoder figures, and the chunk texts it embedded."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as index_dir:
        settings = load_settings(index_dir=index_dir, embedder=kind, embed_batch_size=batch_size)
        assistant = Assistant(settings)
        assistant.embedder.load()  # model load is cold start, not ingest throughput
        files = len(list(folder.glob("*.txt")))
        started = time.perf_counter()
        last = [0.0]

        def progress(done: int, total: int, _path: str) -> None:
            now = time.perf_counter()
            if now - last[0] > 5 or done == total:
                last[0] = now
                print(f"  {kind}: ingested {done}/{total} files, {now - started:.0f} s", file=sys.stderr)

        report = assistant.ingest([folder], on_progress=progress)
        ingest_s = time.perf_counter() - started
        texts = [chunk.text for chunk in assistant.chunks()]
    raw_s = raw_encode_seconds(kind, texts, batch_size)
    row = {
        "embedder": kind,
        "articles": len(report.added),
        "files": files,
        "chunks": report.chunks_added,
        "ingest_s": round(ingest_s, 2),
        "ingest_chunks_per_s": round(report.chunks_added / ingest_s, 1),
        "ingest_articles_per_s": round(len(report.added) / ingest_s, 2),
        "raw_chunks_per_s": round(len(texts) / raw_s, 1),
        "ingest_over_raw": round((report.chunks_added / ingest_s) / (len(texts) / raw_s), 3),
    }
    return row, texts


def cosine_to_torch(kind: str, texts: list[str], batch_size: int) -> tuple[float, float]:
    sample = texts[:QUALITY_SAMPLE]
    reference = get_embedder("torch", batch_size).encode(sample)
    vectors = get_embedder(kind, batch_size).encode(sample)
    cosines = (reference * vectors).sum(axis=1)
    return float(cosines.mean()), float(cosines.min())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=5000, help="corpus size in chunks (approximate, at least)")
    parser.add_argument("--embedders", default="onnx-int8,onnx,torch")
    parser.add_argument("--batch-size", type=int, default=load_settings().embed_batch_size)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    folder = corpus.build(args.chunks)
    kinds = args.embedders.split(",")
    measured = [measure(kind, folder, args.batch_size) for kind in kinds]
    rows, texts = [row for row, _ in measured], measured[0][1]
    torch_raw = next((r["raw_chunks_per_s"] for r in rows if r["embedder"] == "torch"), None)
    for row in rows:
        row["raw_vs_torch"] = round(row["raw_chunks_per_s"] / torch_raw, 2) if torch_raw else None
        mean, least = (1.0, 1.0) if row["embedder"] == "torch" else cosine_to_torch(row["embedder"], texts, args.batch_size)
        row["cosine_to_torch_mean"], row["cosine_to_torch_min"] = round(mean, 4), round(least, 4)

    machine = f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, no GPU"
    print(f"\nIngest throughput, {rows[0]['chunks']} chunks / {rows[0]['articles']} articles, batch {args.batch_size}, {machine}\n")
    print("| embedder | ingest chunks/s | articles/s | raw encoder chunks/s | ingest / raw | raw vs torch | cosine to torch (mean / min) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        vs_torch = f"{r['raw_vs_torch']:.2f}x" if r["raw_vs_torch"] else "-"
        print(f"| {r['embedder']} | {r['ingest_chunks_per_s']} | {r['ingest_articles_per_s']} | {r['raw_chunks_per_s']} | "
              f"{r['ingest_over_raw']:.3f} | {vs_torch} | {r['cosine_to_torch_mean']:.4f} / {r['cosine_to_torch_min']:.4f} |")
    result = {"machine": machine, "batch_size": args.batch_size, "rows": rows}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
