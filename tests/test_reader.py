"""The reader: the fine-tuned span scorer the phrase ranker reads, as shipped (an adapter the runtime merges into
the packaged MiniLM and builds into int8 ONNX) and as bench/fit_reader.py trains it (torch and peft)."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from assistant.answer import phrases, reader
from assistant.embeddings import get_embedder, onnx_export, packaged_model_dir
from assistant.question.analysis import analyse

SENTENCE = "Kerry will meet Russian Foreign Minister Sergei Lavrov on Friday."
QUESTION = "Who will Kerry meet on Friday?"


def test_the_shipped_reader_scores_the_word_pieces_of_the_sentence_only():
    shipped = reader.shipped()
    assert shipped is not None, f"{reader.ADAPTER_PATH} is missing: python -m bench.fit_reader --write builds it"
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
    """bench/fit_reader.py trains LoRA adapters with peft and tokenises with transformers; the runtime merges the
    saved adapter into the packaged weights, tokenises with `tokenizers` and runs ONNX Runtime. The two must
    agree on every word piece's score."""
    import torch
    from transformers import AutoTokenizer

    from bench import fit_reader

    torch.manual_seed(0)
    # random adapters and head: untrained, but every merged update changes the scores
    model = fit_reader.SpanHead(packaged_model_dir(), rank=4, random_adapters=True).eval()
    adapter = tmp_path / "adapter.safetensors"
    fit_reader.save_adapter(model, adapter)
    assert adapter.stat().st_size < 400_000  # rank 4: 166k float16 adapter weights and the head, not the model
    built = tmp_path / "reader-int8.onnx"
    onnx_export.export_reader(packaged_model_dir(), adapter, built)  # what reader_model caches
    [onnx] = reader.Reader(onnx_path=built).logits(QUESTION, [SENTENCE])

    tokenizer = AutoTokenizer.from_pretrained(str(packaged_model_dir()), local_files_only=True)
    enc = tokenizer([QUESTION], [SENTENCE], return_offsets_mapping=True, return_tensors="pt")
    with torch.no_grad():
        start, end = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    keep = [i for i, s in enumerate(enc.sequence_ids(0)) if s == 1]
    assert [tuple(o) for o in enc["offset_mapping"][0][keep].tolist()] == onnx.offsets
    # int8 weights: close to the torch scores, not equal
    assert np.corrcoef(start[0, keep].numpy(), onnx.start)[0, 1] > 0.9
    assert np.corrcoef(end[0, keep].numpy(), onnx.end)[0, 1] > 0.9
    # without its merged updates the scores would be another model's
    base = fit_reader.SpanHead(packaged_model_dir(), rank=4).eval()
    base.head.load_state_dict(model.head.state_dict())
    with torch.no_grad():
        unadapted, _ = base(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    assert np.corrcoef(unadapted[0, keep].numpy(), onnx.start)[0, 1] < np.corrcoef(start[0, keep].numpy(), onnx.start)[0, 1]
    assert fit_reader.gold_span(fit_reader.Pair("k", "g", QUESTION, SENTENCE, ("Sergei Lavrov",), [])) == (41, 54)


def test_a_damaged_adapter_is_refused_naming_the_file(tmp_path):
    from safetensors.numpy import save_file

    adapter = tmp_path / "adapter.safetensors"
    save_file({"head.weight": np.zeros((2, 384), np.float16), "head.bias": np.zeros(2, np.float16),
               "encoder.layer.9.attention.self.query.down": np.zeros((4, 384), np.float16)}, str(adapter))
    with pytest.raises(ValueError, match=r"adapter\.safetensors: tensors that match no layer"):
        onnx_export.export_reader(packaged_model_dir(), adapter, tmp_path / "reader.onnx")
    adapter.write_bytes(b"not safetensors")
    with pytest.raises(ValueError, match=r"adapter\.safetensors: not a reader adapter"):
        onnx_export.export_reader(packaged_model_dir(), adapter, tmp_path / "reader.onnx")
    assert not (tmp_path / "reader.onnx").exists()


@pytest.mark.slow
def test_warming_up_builds_the_reader_once_so_no_question_waits_for_it(make_assistant, monkeypatch, tmp_path):
    assistant = make_assistant()
    assistant.embedder.load()  # from the usual cache: only the reader is built below
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    make_assistant(answer_phrase="rule").warm_up()  # the rule phrase reads no reader
    assert not list(onnx_export.cache_dir().glob("reader-*"))
    # Readers of earlier adapters: the most recently used one stays (another checkout may use it), the rest,
    # unused for two days, are removed once the new one is built.
    cache = onnx_export.cache_dir()
    cache.mkdir(parents=True)
    earlier = {name: cache / f"reader-{name * 16}-int8.onnx" for name in "abcd"}
    for age_days, path in zip((0.5, 2, 3, 4), earlier.values()):
        path.write_bytes(b"an earlier reader")
        os.utime(path, (time.time() - age_days * 86400,) * 2)

    assistant.warm_up()
    built = onnx_export.reader_model(packaged_model_dir(), reader.ADAPTER_PATH)
    assert sorted(cache.glob("reader-*-int8.onnx")) == sorted([built, earlier["a"]])
    made = built.stat().st_ino
    assistant.warm_up()  # a restart finds it
    assert built.stat().st_ino == made
