"""The keyword (BM25) side of the index, built from the manifest's chunk texts.

Tokenising every chunk is the slow part (about 17 s at 100k chunks), so each
build is saved under ``<index>/keyword/gen-<N>`` for the manifest generation it
reflects, and a restart loads it (memory-mapped) instead. The saved copy is a
cache, never the truth: a missing or unreadable one is rebuilt. `assistant ingest`
saves it before exiting, so the next process starts without the wait.

Saves go to a temporary folder renamed into place, so a reader never sees a
half-written index; older generations are pruned after a save. A copy made by an older tokeniser (its
``TOKENS`` in chunks.json) is rebuilt, since its words would no longer match the questions'.

Words are compared without accents ("Beyonce" finds "Beyoncé"), stemmed, English stopwords left out.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from ..folders import make_private
from ..text import without_accents
from .manifest import Manifest

log = logging.getLogger("assistant.index")
_stemmer = Stemmer.Stemmer("english")
CHUNKS_FILE = "chunks.json"
TOKENS = 2  # how words are read: raised whenever keyword_tokens changes (2: accents folded)


def keyword_tokens(text: str) -> list[str]:
    return _tokenize([text], return_ids=False)[0]


def _tokenize(texts: list[str], **options):
    return bm25s.tokenize([without_accents(t) for t in texts], stopwords="en", stemmer=_stemmer,
                          show_progress=False, **options)


@dataclass(frozen=True)
class KeywordIndex:
    generation: int
    chunk_ids: list[str]  # row i of the BM25 matrix is chunk_ids[i]
    article_ids: np.ndarray  # article of each row, for filter masks
    bm25: bm25s.BM25 | None  # None when the index holds no chunks
    # (the distinct article ids, each row's position among them): made on the first masked search
    _codes: tuple[list[str], np.ndarray] | None = field(default=None, init=False, repr=False, compare=False)
    # the masks of the last scopes asked (a server answers the same few collections over and over)
    _masks: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def mask_for(self, articles: frozenset[str]) -> np.ndarray:
        """A BM25 weight mask: 1 for the rows of these articles, 0 for the rest (made by article rather than by
        row, and kept for the next question of the same scope)."""
        mask = self._masks.get(articles)
        if mask is not None:
            return mask
        if self._codes is None:
            names, rows = np.unique(self.article_ids, return_inverse=True)
            object.__setattr__(self, "_codes", (names.tolist(), rows))
        names, rows = self._codes
        keep = np.fromiter((name in articles for name in names), dtype=bool, count=len(names))
        mask = keep[rows].astype(np.float32)
        if len(self._masks) >= 32:
            self._masks.pop(next(iter(self._masks)))
        self._masks[articles] = mask
        return mask

    def search(self, question: str, k: int, mask: np.ndarray | None = None) -> list[str]:
        tokens = keyword_tokens(question)
        token_ids = self.bm25.get_tokens_ids(tokens) if self.bm25 is not None else []
        if not token_ids:
            return []
        scores = self.bm25.get_scores_from_ids(token_ids, weight_mask=mask)
        k = min(k, len(scores))
        # The top k by partitioning the negated scores at k: bm25s' own retrieve partitions at len - k, which
        # numpy does ~20x slower on a million mostly-zero scores (55 ms against 3 ms, bench/scale.py's 1M index).
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]  # best first; ties by row, so the order is deterministic
        return [self.chunk_ids[i] for i in top if scores[i] > 0]


def load_or_build(manifest: Manifest, folder: Path | None) -> KeywordIndex:
    """The keyword index for the manifest's current generation: loaded if saved, else built (and saved)."""
    generation = manifest.generation
    saved = folder / f"gen-{generation}" if folder else None
    stale = False
    if saved is not None and (saved / CHUNKS_FILE).exists():
        try:
            return _load(saved, generation)
        except (OSError, ValueError) as exc:  # a cache: rebuild rather than fail
            log.warning("keyword index %s unreadable (%s); rebuilding", saved, exc)
            stale = True
    index = _build(manifest, generation)
    if saved is not None and index.bm25 is not None:
        _save(index, saved, replace=stale)
    return index


def _build(manifest: Manifest, generation: int) -> KeywordIndex:
    chunks = manifest.all_chunks()
    bm25 = None
    if chunks:
        corpus = _tokenize([c.text for c in chunks])
        bm25 = bm25s.BM25()
        bm25.index(corpus, show_progress=False)
    return KeywordIndex(generation, [c.id for c in chunks], np.array([c.article_id for c in chunks]), bm25)


def _load(saved: Path, generation: int) -> KeywordIndex:
    rows = json.loads((saved / CHUNKS_FILE).read_text())
    if rows.get("tokens", 1) != TOKENS:
        raise ValueError(f"its words were read by tokeniser {rows.get('tokens', 1)}, now {TOKENS}")
    bm25 = bm25s.BM25.load(str(saved), mmap=True, show_progress=False)
    return KeywordIndex(generation, rows["chunk_ids"], np.array(rows["article_ids"]), bm25)


def _save(index: KeywordIndex, target: Path, *, replace: bool = False) -> None:
    """Saves ``index`` as ``target``; ``replace``: over the unreadable copy there (an older tokeniser's), where
    a copy another process has just saved is left as it is."""
    partial = None
    try:  # a cache: a folder that cannot be written (read-only, full) leaves the index in memory, serving
        make_private(target.parent)
        partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=target.parent))
        index.bm25.save(str(partial), show_progress=False)
        rows = {"tokens": TOKENS, "chunk_ids": index.chunk_ids, "article_ids": index.article_ids.tolist()}
        (partial / CHUNKS_FILE).write_text(json.dumps(rows))
        if replace:
            shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    except OSError as exc:  # another process saved the same generation first, or the disk is read-only or full
        log.debug("keyword index not saved to %s: %s", target, exc)
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
        return
    for old in target.parent.iterdir():
        if old != target and old.name.startswith("gen-"):
            shutil.rmtree(old, ignore_errors=True)
