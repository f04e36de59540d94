"""The reference runtime: sentence-transformers on torch (CPU)."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from . import MODEL_NAME, Embedder


class TorchEmbedder(Embedder):
    kind = "torch"
    name = MODEL_NAME

    @cached_property
    def model(self):
        import os

        # Belt and braces: the weights are the packaged ones, and nothing here may reach a model hub.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(self.model_dir), device="cpu", local_files_only=True)

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(
            texts, batch_size=len(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return vectors.astype(np.float32, copy=False)
