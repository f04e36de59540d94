"""The reference runtime: sentence-transformers on torch (CPU)."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from . import NAMES, Embedder


class TorchEmbedder(Embedder):
    kind = "torch"
    name = NAMES["torch"]

    @cached_property
    def model(self):
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(self.model_dir), device="cpu", local_files_only=True)

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(
            texts, batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return vectors.astype(np.float32, copy=False)
