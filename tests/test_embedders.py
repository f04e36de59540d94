"""The ONNX embedder, exported once per machine from the packaged weights, gives sentence-transformers' vectors."""

from __future__ import annotations

import numpy as np

from assistant.embeddings import MAX_SEQ_TOKENS, get_embedder

TEXTS = [
    "Anna Berg resigned from the board of directors of Nordlys Shipping in March.",
    "What does JIG stand for?",
    "The night ferry to Saltmarsh returns on Friday after a winter pause. " * 30,  # cut at the model's limit
]


def test_the_onnx_export_gives_the_torch_models_vectors():
    onnx, torch = get_embedder("onnx"), get_embedder("torch")
    assert onnx.name == torch.name  # one model: an index built by either opens with the other
    a, b = (np.asarray(e.encode(TEXTS), dtype=np.float32) for e in (onnx, torch))
    assert len(onnx.tokenizer.encode(TEXTS[-1]).ids) > MAX_SEQ_TOKENS  # so both must truncate alike
    assert a.shape == b.shape == (len(TEXTS), onnx.dimension)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-3)
    assert np.min(np.sum(a * b, axis=1)) > 0.999
