"""The reference runtime: sentence-transformers on torch (CPU)."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from . import MODEL_NAME, Embedder, normalised_rows


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

    def _encode_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        # output_value=None: every output per text, padded to the batch; the attention mask says which are real.
        outputs = self.model.encode(texts, batch_size=len(texts), output_value=None, show_progress_bar=False)
        pooled = normalised_rows(np.stack([o["sentence_embedding"].float().numpy() for o in outputs]))
        real = [int(o["attention_mask"].sum()) for o in outputs]
        tokens = [normalised_rows(o["token_embeddings"].float().numpy()[1 : n - 1]) for o, n in zip(outputs, real)]
        return pooled.astype(np.float32), tokens
