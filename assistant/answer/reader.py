"""The reader: one model that says which sentence answers, which words of it are the answer, and whether any does.

all-MiniLM-L6-v2 (the embedder's packaged weights) fine-tuned with a start/end head on SQuAD 1.1's training
split (bench/train_reader.py). It reads the question and one candidate sentence; a sentence that does not answer
was trained to point at [CLS], the usual "no answer" position. So one forward pass gives, per sentence, the best
answer span and its answerability: the span's start+end score minus [CLS]'s.

Only what training changed ships beside this module (``reader-weights.safetensors``, described in
``embeddings.onnx_export.export_reader``). The ONNX file is built from the packaged MiniLM weights and that file
on first use and cached; answers run it on ONNX Runtime, no torch.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

WEIGHTS_PATH = Path(__file__).with_name("reader-weights.safetensors")
# Question + sentence (trained at 96). The longer of the two is cut: the sentence, unless the question is past
# 62 word pieces (a pasted paragraph), which "only_second" could not cut at all and failed on.
MAX_TOKENS = 128
MAX_SPAN_TOKENS = 30  # as trained: a longer span is no SQuAD answer
# Readings kept, most recent first: a reading depends only on the question and the sentence, and a site's
# visitors ask the same questions of the same articles (about 12 MB when full).
READINGS_KEPT = 20_000


@dataclass(frozen=True)
class Reading:
    """What the reader makes of one sentence."""

    answerability: float  # the best span's score minus the no-answer score: above 0, the span beats "none"
    span: tuple[int, int] | None  # the best span's characters in the sentence, whole words (None: nothing read)


class Reader:
    """Reads ``onnx_path`` when given (a bench's own model), else the ONNX file built from ``weights``."""

    def __init__(self, weights: Path = WEIGHTS_PATH, model_dir: Path | None = None, onnx_path: Path | None = None):
        from ..embeddings import packaged_model_dir

        self.weights = weights
        self.model_dir = model_dir or packaged_model_dir()
        self.onnx_path = onnx_path
        self._read_one = lru_cache(maxsize=READINGS_KEPT)(self._read_uncached)

    def build(self) -> Path:
        """The ONNX file, built from the packaged weights and the trained ones if this machine has not yet."""
        from ..embeddings.onnx_export import reader_model

        return self.onnx_path or reader_model(self.model_dir, self.weights)

    @cached_property
    def session(self):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # One thread a run, runs side by side: a 50-token sentence is too small to split across cores, and under
        # load each core reads for another request (4 sentences, 10 clients: 0.50x -> 0.69x of 420d9d7, bench/load_vs.py).
        options.intra_op_num_threads = 1
        return onnxruntime.InferenceSession(str(self.build()), options, providers=["CPUExecutionProvider"])

    @cached_property
    def tokenizer(self):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(MAX_TOKENS, strategy="longest_first")
        tokenizer.no_padding()  # the packaged tokenizer.json pads every text to 128 tokens
        return tokenizer

    def read(self, question: str, sentences: list[str]) -> list[Reading]:
        """The reader's reading of each sentence as the answer to ``question``.

        One sentence per run: the int8 model scales each run's activations by their largest value, so in a padded
        batch a sentence's scores would depend on the sentences beside it (by up to 0.8 of answerability); alone,
        a sentence always reads the same, and no time goes to padding (a batch of 8 saves about 15 %)."""
        return [self._read_one(question, sentence) for sentence in sentences]

    def _read_uncached(self, question: str, sentence: str) -> Reading:
        encoding = self.tokenizer.encode(question, sentence)
        feed = {
            "input_ids": np.array([encoding.ids], dtype=np.int64),
            "attention_mask": np.array([encoding.attention_mask], dtype=np.int64),
            "token_type_ids": np.array([encoding.type_ids], dtype=np.int64),
        }
        starts, ends = self.session.run(None, feed)
        return _best_span(starts[0], ends[0], encoding, sentence)


def _best_span(start: np.ndarray, end: np.ndarray, encoding, sentence: str) -> Reading:
    own = [i for i, sequence in enumerate(encoding.sequence_ids) if sequence == 1]
    if not own:
        return Reading(float("-inf"), None)
    s, e = start[own], end[own]
    scores = s[:, None] + e[None, :]
    n = len(own)
    rows, cols = np.indices((n, n))
    scores = np.where((cols >= rows) & (cols - rows < MAX_SPAN_TOKENS), scores, -np.inf)
    first, last = divmod(int(np.argmax(scores)), n)
    no_answer = float(start[0] + end[0])
    begin, finish = encoding.offsets[own[first]][0], encoding.offsets[own[last]][1]
    return Reading(float(scores[first, last]) - no_answer, _whole_words(sentence, begin, finish))


def _whole_words(sentence: str, begin: int, finish: int) -> tuple[int, int]:
    """The span widened to whole words and numbers (a word piece may end mid-word: "1,0" of "1,000") and without
    punctuation at its end."""
    def inside_word(at: int) -> bool:  # a letter or digit, a mark on one (Hindi's vowel signs, Arabic's vowels),
        # or the comma or point inside a number ("1,000")
        return (sentence[at].isalnum() or unicodedata.category(sentence[at])[0] == "M"
                or (sentence[at] in ",." and 0 < at < len(sentence) - 1
                    and sentence[at - 1].isdigit() and sentence[at + 1].isdigit()))

    while begin > 0 and inside_word(begin - 1):
        begin -= 1
    while finish < len(sentence) and inside_word(finish):
        finish += 1
    while finish > begin and sentence[finish - 1] in ".,;:":
        finish -= 1
    return begin, finish


@lru_cache(maxsize=1)
def shipped() -> Reader:
    """The reader that ships with the project."""
    return Reader()
