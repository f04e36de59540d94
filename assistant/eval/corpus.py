"""The evaluation corpus's own index, cached by content so a second run does not re-embed it.

Each corpus gets ``<cache root>/<key>/`` as its ASSISTANT index_dir, where the
key hashes every file's relative path and bytes plus the settings that change
what gets indexed. It is never the user's index, and never a Chroma server.
A reused index records the sources (absolute paths) of the run that built it;
gold articles are matched by file name, so a moved corpus still scores right.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from .. import errors
from ..core import Assistant, ProgressCallback, article_files, vector_space
from ..models import IngestReport
from ..settings import Settings

# Bump when the layout of a cached index changes, so old caches are not reused.
CACHE_FORMAT = 1
# Written last: a cache directory without it is an interrupted build and is rebuilt.
COMPLETE_MARKER = "eval-index.json"


@dataclass
class EvalIndex:
    assistant: Assistant
    cache_dir: Path
    cached: bool  # reused from an earlier run
    ingest_s: float  # seconds this run spent preparing the index
    articles: int
    failed: list[tuple[str, str]]  # (path, reason) of corpus files that could not be ingested


def default_cache_root() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "article-assistant" / "eval"


def ingest_code_digest() -> str:
    """The source of what turns files into chunks: the load stage and the text rules it uses."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted([*(package / "ingest").glob("*.py"), package / "text.py", package / "vocabulary.py"]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def corpus_key(corpus: Path, files: list[Path], settings: Settings, by_folder: bool = False) -> str:
    digest = hashlib.sha256()
    indexing = {
        **({"collections": "by top-level folder"} if by_folder else {}),
        "format": CACHE_FORMAT,
        "embedder": vector_space(settings),
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap_tokens": settings.chunk_overlap_tokens,
        "max_file_bytes": settings.max_file_bytes,
        # The load stage's own code: a change to cleaning or decoding must not be scored on an old index.
        "ingest_code": ingest_code_digest(),
    }
    digest.update(json.dumps(indexing, sort_keys=True).encode())
    for path in files:
        digest.update(path.relative_to(corpus).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def folder_collections(corpus: Path) -> dict[str, Path]:
    """For ``assistant eval --collection``: each top-level folder of the corpus is a collection of its name."""
    return {folder.name: folder for folder in sorted(corpus.iterdir()) if folder.is_dir()}


def open_eval_index(
    corpus: Path, settings: Settings, cache_root: Path, on_progress: ProgressCallback | None = None,
    by_folder: bool = False,
) -> EvalIndex:
    """The corpus's index (cached). ``by_folder``: each top-level folder is ingested into a collection of its
    name (files beside them into ``default``), so that questions can be asked within one collection."""
    if not corpus.is_dir():
        raise errors.InvalidRequest("--corpus", f"{corpus} is not a folder")
    files = [f for f in article_files([corpus]) if f.is_file()]  # a pipe or broken link: reported by the ingest
    if not files:
        raise errors.InvalidRequest("--corpus", f"{corpus} holds no .txt, .md, .html or .pdf files")
    cache_dir = cache_root / corpus_key(corpus, files, settings, by_folder)
    cache_root.mkdir(parents=True, exist_ok=True)
    # Two evals of the same corpus at once: the second waits, then reuses the first's index.
    with FileLock(str(cache_dir) + ".lock"):
        marker = cache_dir / COMPLETE_MARKER
        cached = marker.exists()
        if not cached:
            shutil.rmtree(cache_dir, ignore_errors=True)  # leftovers of an interrupted build
        assistant = Assistant(settings.model_copy(update={"index_dir": cache_dir, "chroma_url": None}))
        assistant.backend()  # an unknown --backend fails now, not after the ingest
        started = time.perf_counter()  # the ingest's time, not opening the index or loading the backend: ≈0 cached
        if cached:
            built = json.loads(marker.read_text())
        else:
            report = _ingest_by_folder(assistant, corpus, on_progress) if by_folder else assistant.ingest(
                [corpus], on_progress=on_progress)
            built = {"corpus": str(corpus.resolve()), "articles": len(report.added), "failed": report.failed}
            if not report.added:
                why = "; ".join(f"{Path(path).name}: {reason}" for path, reason in report.failed[:3])
                more = f" (and {len(report.failed) - 3} more)" if len(report.failed) > 3 else ""
                raise errors.InvalidRequest("--corpus", f"no article in {corpus} could be ingested"
                                            + (f": {why}{more}" if why else ""))
            marker.write_text(json.dumps(built, indent=2))
    return EvalIndex(
        assistant=assistant,
        cache_dir=cache_dir,
        cached=cached,
        ingest_s=time.perf_counter() - started,
        articles=built["articles"],
        failed=[tuple(f) for f in built["failed"]],
    )


def _ingest_by_folder(assistant: Assistant, corpus: Path, on_progress: ProgressCallback | None) -> IngestReport:
    folders = folder_collections(corpus)
    loose = [path for path in corpus.iterdir() if path.is_file()]
    report = assistant.ingest(loose, on_progress=on_progress) if loose else IngestReport()
    for name, folder in folders.items():
        assistant.create_collection(name)  # InvalidRequest naming the folder if it cannot name a collection
        part = assistant.ingest([folder], on_progress=on_progress, collection=name)
        report.added += part.added
        report.failed += part.failed
    return report
