"""The reader: a MiniLM fine-tuned to point at the answer span of a sentence, one signal of the phrase ranker.

all-MiniLM-L6-v2 (the embedder's weights) with a start/end head, fine-tuned on the shared question sets'
questions and the sentences the assistant quotes for them (bench/fit_reader.py, which also cross-validates it
by article). Only what fine-tuning adds ships beside this module: low-rank (LoRA) updates of MiniLM's linear
layers and the head, 1.3 MB (``reader-adapter.safetensors``). The ONNX file is built from the packaged
MiniLM weights and the adapter on first use and cached (``embeddings.onnx_export.reader_model``), then runs
on ONNX Runtime: no torch at answer time. Trained on a few hundred questions it is a weak reader alone (held out it picks a right candidate less
often than the phrase ranker), so it does not choose the phrase: its span scores are signals beside the
ranker's others, and the ranker was fitted on scores of readers that had not seen the question.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

ADAPTER_PATH = Path(__file__).with_name("reader-adapter.safetensors")
MAX_TOKENS = 192  # question + sentence; a longer sentence is cut, never the question


@dataclass(frozen=True)
class SpanLogits:
    """The reader's start and end scores for each word piece of one sentence, with its character span."""

    start: np.ndarray
    end: np.ndarray
    offsets: list[tuple[int, int]]

    def score(self, start_char: int, end_char: int) -> float | None:
        """Start score of the candidate's first word piece plus end score of its last (None if none falls inside)."""
        first = next((i for i, (_, e) in enumerate(self.offsets) if e > start_char), None)
        last = next((i for i in range(len(self.offsets) - 1, -1, -1) if self.offsets[i][0] < end_char), None)
        if first is None or last is None or last < first:
            return None
        return float(self.start[first] + self.end[last])


class Reader:
    """Reads ``onnx_path`` when given (the bench's fold readers), else the ONNX file built from ``adapter``."""

    def __init__(self, adapter: Path = ADAPTER_PATH, model_dir: Path | None = None, onnx_path: Path | None = None):
        from ..embeddings import packaged_model_dir

        self.adapter = adapter
        self.model_dir = model_dir or packaged_model_dir()
        self.onnx_path = onnx_path
        self._lock = threading.Lock()

    def build(self) -> Path:
        """The ONNX file, built from the packaged weights and the adapter if this machine has not yet."""
        from ..embeddings.onnx_export import reader_model

        return self.onnx_path or reader_model(self.model_dir, self.adapter)

    @cached_property
    def session(self):
        import onnxruntime

        path = self.build()
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    @cached_property
    def tokenizer(self):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS, strategy="only_second")
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        return tokenizer

    def logits(self, question: str, sentences: list[str]) -> list[SpanLogits]:
        """The reader's scores over each sentence, read as the answer to ``question`` (one batch)."""
        if not sentences:
            return []
        encodings = self.tokenizer.encode_batch([(question, s) for s in sentences])
        feed = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        with self._lock:
            start, end = self.session.run(None, feed)
        out = []
        for row, e in enumerate(encodings):
            keep = [i for i, sequence in enumerate(e.sequence_ids) if sequence == 1]
            out.append(SpanLogits(start[row, keep], end[row, keep], [e.offsets[i] for i in keep]))
        return out


@lru_cache(maxsize=1)
def shipped() -> Reader | None:
    """The packaged reader, or None where none has been fitted."""
    return Reader() if ADAPTER_PATH.exists() else None
