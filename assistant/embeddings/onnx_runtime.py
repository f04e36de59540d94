"""The fast runtime: the same MiniLM in ONNX Runtime, fp32 or int8.

Tokenising (`tokenizers`), the transformer (ONNX Runtime) and mean pooling
(numpy) need neither torch nor transformers, which keeps cold start short.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from . import MAX_SEQ_TOKENS, MODEL_NAME, Embedder, normalised_rows
from .onnx_export import onnx_model


class OnnxEmbedder(Embedder):
    kind = "onnx"
    name = MODEL_NAME
    int8 = False

    @cached_property
    def session(self):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        path = onnx_model(self.model_dir, int8=self.int8)
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    @cached_property
    def _batch_tokenizer(self):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_SEQ_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return tokenizer

    def _forward(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        encodings = self._batch_tokenizer.encode_batch(texts)
        input_ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = self.session.run(
            None, {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
        )
        return hidden, mask

    @staticmethod
    def _pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        # Mean over real tokens, then L2-normalise: sentence-transformers' pooling for this model.
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return normalised_rows(pooled).astype(np.float32)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._pool(*self._forward(texts))


class OnnxInt8Embedder(OnnxEmbedder):
    kind = "onnx-int8"
    name = f"{MODEL_NAME}/int8"
    int8 = True
