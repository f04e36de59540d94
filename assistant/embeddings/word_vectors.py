"""Word-piece vectors distilled from the embedder: how alike a sentence and a question are, without a model run.

Each word piece of MiniLM's vocabulary is read alone by the embedder's transformer (``[CLS] piece [SEP]``,
mean-pooled), and the vocabulary's mean vector is taken from every row, so what all pieces share does not count.
A text's vector is the mean of its word pieces' (punctuation left out); likeness is the cosine. This is Model2Vec's
distillation without its PCA and frequency weighting (the weighting measured worse as a preselection here,
docs/experiments.md), and without its distill extra, which pins another torch.

It lets the answer stage find a sentence that says what the question asks in other words ("How many people lost
their lives…" / "killed nine Syrians") among more candidates than the reader has time to read: about 1 ms for a
question's candidates, where reading one sentence costs about 5 ms.

Built once per machine from the fp32 ONNX embedder (about 10 s) and cached beside it as float16 (23 MB), which
each process reads whole on its first answer.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

BATCH = 512


class WordVectors:
    def __init__(self, model_dir: Path | None = None):
        from . import packaged_model_dir

        self.model_dir = model_dir or packaged_model_dir()

    def build(self) -> Path:
        """The cached table of the vocabulary's vectors, distilled if this machine has not yet."""
        from .onnx_export import built_once, onnx_model

        embedder = onnx_model(self.model_dir, int8=False)  # first: it is built under the same lock
        return built_once("word-vectors.npy", lambda target: distill(embedder, self.model_dir, target))

    @cached_property
    def table(self) -> np.ndarray:
        # read whole (23 MB): a memory-mapped file would fault its pages in during the first answers
        return np.load(self.build())

    @cached_property
    def tokenizer(self):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        tokenizer.no_padding()  # the packaged tokenizer.json pads every text to 128 tokens
        tokenizer.no_truncation()
        return tokenizer

    @cached_property
    def counted(self) -> np.ndarray:
        """Per word piece, whether it counts in a text's vector: words and word parts, not punctuation."""
        pieces = sorted(self.tokenizer.get_vocab().items(), key=lambda item: item[1])
        return np.array([piece.isalnum() or piece.startswith("##") for piece, _ in pieces])

    def vectors(self, texts: list[str]) -> np.ndarray:
        """One unit vector per text (zeros for a text with no word)."""
        ids = [np.array(e.ids, dtype=np.int64) for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]
        ids = [i[self.counted[i]] for i in ids]
        lengths = np.array([len(i) for i in ids])
        out = np.zeros((len(texts), self.table.shape[1]), dtype=np.float32)
        if lengths.sum():
            # every text's word pieces gathered at once, summed per text
            pieces = self.table[np.concatenate(ids)].astype(np.float32)
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            kept = lengths > 0
            out[kept] = np.add.reduceat(pieces, starts[kept], axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)

    def likeness(self, question: str, texts: list[str]) -> np.ndarray:
        """The cosine of each text's vector with the question's."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        vectors = self.vectors([question, *texts])
        return vectors[1:] @ vectors[0]


def distill(embedder: Path, model_dir: Path, target: Path) -> None:
    """Read every word piece alone through the fp32 embedder's ONNX file and save the centred vectors as float16."""
    import onnxruntime
    from tokenizers import Tokenizer

    session = onnxruntime.InferenceSession(str(embedder), providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    size = tokenizer.get_vocab_size()
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    rows = []
    for at in range(0, size, BATCH):
        ids = np.arange(at, min(size, at + BATCH), dtype=np.int64)[:, None]
        input_ids = np.hstack([np.full_like(ids, cls), ids, np.full_like(ids, sep)])
        (hidden,) = session.run(None, {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids),
                                       "token_type_ids": np.zeros_like(input_ids)})
        rows.append(hidden.mean(axis=1))
    table = np.vstack(rows)
    table -= table.mean(axis=0)
    partial = target.with_suffix(".partial.npy")
    np.save(partial, table.astype(np.float16))
    partial.replace(target)


@lru_cache(maxsize=1)
def shipped() -> WordVectors:
    """The word vectors of the packaged embedder."""
    return WordVectors()
