"""The reader: the fine-tuned span scorer the phrase ranker reads, as shipped (int8 ONNX) and as bench/fit_reader.py
builds it (torch, exported with the same tokenisation)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from assistant.answer import phrases, reader
from assistant.answer.question import analyse
from assistant.embeddings import get_embedder

from conftest import ROOT

SENTENCE = "Kerry will meet Russian Foreign Minister Sergei Lavrov on Friday."
QUESTION = "Who will Kerry meet on Friday?"


def test_the_shipped_reader_scores_the_word_pieces_of_the_sentence_only():
    shipped = reader.shipped()
    assert shipped is not None, f"{reader.MODEL_PATH} is missing: bench/fit_reader.py --write builds it"
    [logits] = shipped.logits(QUESTION, [SENTENCE])
    assert len(logits.start) == len(logits.end) == len(logits.offsets) > 0
    # the offsets are the sentence's, in order, and no question word piece is among them
    assert [SENTENCE[s:e] for s, e in logits.offsets[:2]] == ["Kerry", "will"]
    assert all(a[1] <= b[0] for a, b in zip(logits.offsets, logits.offsets[1:]))
    assert logits.score(SENTENCE.index("Sergei"), SENTENCE.index(" on Friday")) is not None
    assert logits.score(len(SENTENCE), len(SENTENCE)) is None  # a span with no word piece inside


def test_the_reader_is_one_signal_of_the_phrase_ranker():
    embedder = get_embedder()
    [logits] = reader.shipped().logits(QUESTION, [SENTENCE])
    found = phrases.candidates(analyse(QUESTION), SENTENCE, embedder, logits)
    assert sum(c.features["reader_top"] for c in found) == 1
    assert max(c.features["reader_gap"] for c in found) == 0.0
    assert all(phrases.READER_FLOOR / 10 <= c.features["reader_gap"] <= 0 for c in found)
    assert {"reader_gap", "reader_top"} <= set(phrases.model()), "the phrase model was fitted without the reader"
    # without scores (no reader shipped) the candidates carry no reader signal
    assert not any("reader_top" in c.features for c in phrases.candidates(analyse(QUESTION), SENTENCE, embedder))


@pytest.mark.slow
def test_the_fitting_bench_exports_what_the_runtime_reads(tmp_path):
    """bench/fit_reader.py tokenises with transformers and exports from torch; the runtime tokenises with
    `tokenizers` and runs ONNX Runtime. The two must agree on every word piece's score."""
    import torch

    sys.path.insert(0, str(ROOT / "bench"))
    import fit_reader
    from transformers import AutoTokenizer

    from assistant.embeddings import packaged_model_dir

    torch.manual_seed(0)
    model = fit_reader.SpanHead(packaged_model_dir()).eval()  # an untrained head is enough to compare scores
    path = tmp_path / "reader-int8.onnx"
    fit_reader.export(model, path)
    [onnx] = reader.Reader(path).logits(QUESTION, [SENTENCE])

    tokenizer = AutoTokenizer.from_pretrained(str(packaged_model_dir()), local_files_only=True)
    enc = tokenizer([QUESTION], [SENTENCE], return_offsets_mapping=True, return_tensors="pt")
    with torch.no_grad():
        start, end = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    keep = [i for i, s in enumerate(enc.sequence_ids(0)) if s == 1]
    assert [tuple(o) for o in enc["offset_mapping"][0][keep].tolist()] == onnx.offsets
    # int8 weights: close to the torch scores, not equal
    assert np.corrcoef(start[0, keep].numpy(), onnx.start)[0, 1] > 0.9
    assert np.corrcoef(end[0, keep].numpy(), onnx.end)[0, 1] > 0.9
    assert fit_reader.gold_span(fit_reader.Pair("k", "g", QUESTION, SENTENCE, ("Sergei Lavrov",), [])) == (41, 54)
