"""The indexes bench/scale.py measures: built from real articles up to the corpus's size, synthesised beyond it
(see bench/scale.py's docstring for how), cached under bench/out/indexes and resumed when interrupted."""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import sqlite3
import time
from pathlib import Path

import numpy as np

from bench import corpus, query
from bench.procstats import log

ROOT = corpus.ROOT
INDEXES = query.INDEXES
SYNTH_BATCH_CHUNKS = 4000  # chunks per Index.write of a synthesised build (Chroma's cap per call)
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


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


def copy_sqlite(source: Path, target: Path) -> None:
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
        copy_sqlite(base_dir / "manifest.sqlite3", index_dir / "manifest.sqlite3")
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
