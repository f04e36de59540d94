"""The reader's trainable models (bench/train_reader.py) and the file each ships as.

``LoraSpanHead`` (the default): low-rank adapters (LoRA, with ``peft``) on every linear layer of the six transformer
blocks, MiniLM's own weights frozen; it ships as each layer's ``NAME.down`` and ``NAME.up`` and the head.

``FullSpanHead`` (``--full``): 
Every weight of the packaged all-MiniLM-L6-v2 is trained except the word embeddings (frozen: 30,522 rows that a
few thousand SQuAD questions would only blur), plus the start/end head. What ships is the difference from the
packaged weights, so the file stays a fraction of the model and carries nothing that is not learned: each matrix's
change as int8 with one float16 scale per row (``NAME.delta_q``, ``NAME.delta_scale``), each vector's as float16
(``NAME.delta``), and the head (``head.weight``, ``head.bias``). The runtime adds them to the packaged weights
(assistant/embeddings/onnx_export.export_reader) and builds its int8 ONNX reader from the sum. What ships is that
file with the transformer blocks' changes cut to rank 64 (``low_rank``): half the size, the same answers within 0.01.
"""

from __future__ import annotations

from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from peft.tuners.lora import LoraLayer
from safetensors.torch import load_file, save_file
from transformers import AutoModel

# Every linear layer of the six transformer blocks (not the unused pooler).
ADAPTED = r".*encoder\.layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)"


class SpanHead(torch.nn.Module):
    """An encoder (``self.encoder``) and a start/end head (``self.head``): a start and an end score per word piece."""

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        logits = self.head(hidden)
        return logits[..., 0], logits[..., 1]


class LoraSpanHead(SpanHead):
    """MiniLM with LoRA adapters (its own weights frozen) and a trained start/end head."""

    def __init__(self, model_dir: Path, rank: int = 16, random_adapters: bool = False):
        super().__init__()
        base = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager")
        # random_adapters: non-zero updates from the start (peft's default starts them at zero), for tests
        config = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.05, target_modules=ADAPTED,
                            init_lora_weights=not random_adapters)
        self.encoder = get_peft_model(base, config)
        self.head = torch.nn.Linear(base.config.hidden_size, 2)


def save_adapter(model: LoraSpanHead, target: Path) -> None:
    """Per adapted layer ``name.down`` (LoRA's A) and ``name.up`` (B times the scaling), and the head; float16."""
    tensors = {}
    for name, module in model.encoder.named_modules():
        if isinstance(module, LoraLayer):
            name = name.removeprefix("base_model.model.")
            tensors[f"{name}.down"] = module.lora_A["default"].weight
            tensors[f"{name}.up"] = module.lora_B["default"].weight * module.scaling["default"]
    tensors["head.weight"], tensors["head.bias"] = model.head.weight, model.head.bias
    save_file({k: v.detach().to(torch.float16).contiguous() for k, v in tensors.items()}, str(target))


class FullSpanHead(SpanHead):
    """MiniLM (word embeddings frozen) and a start/end head, all trained."""

    def __init__(self, model_dir: Path):
        super().__init__()
        self.encoder = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager")
        self.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, 2)
        self.model_dir = model_dir

    def start_from(self, shipped: Path) -> None:
        """Take the weights of a reader file as it ships (``save_full``'s or ``low_rank``'s, e.g.
        assistant/answer/reader-weights.safetensors) added to the packaged ones: a run can go on from the shipped
        reader on a clean checkout, without the checkpoint of the run that trained it."""
        from assistant.embeddings.onnx_export import merged_reader

        encoder, head = merged_reader(self.model_dir, shipped)
        self.encoder.load_state_dict(encoder.state_dict())  # copies values: the word embeddings stay frozen
        self.head.load_state_dict(head.state_dict())


def save_full(model: FullSpanHead, target: Path) -> None:
    """The trained weights' difference from the packaged ones, in the format described above."""
    packaged = dict(AutoModel.from_pretrained(str(model.model_dir), local_files_only=True).named_parameters())
    tensors = {}
    with torch.no_grad():
        for name, parameter in model.encoder.named_parameters():
            if not parameter.requires_grad:
                continue
            delta = (parameter - packaged[name]).float()
            if delta.ndim == 2:
                scale = delta.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127
                tensors[f"{name}.delta_q"] = torch.round(delta / scale).to(torch.int8)
                tensors[f"{name}.delta_scale"] = scale.squeeze(1).to(torch.float16)
            else:
                tensors[f"{name}.delta"] = delta.to(torch.float16)
        tensors["head.weight"] = model.head.weight.to(torch.float16)
        tensors["head.bias"] = model.head.bias.to(torch.float16)
    save_file({k: v.detach().contiguous() for k, v in tensors.items()}, str(target))


def low_rank(full: Path, target: Path, rank: int = 64) -> None:
    """``full`` (``save_full``'s file) with each transformer-block matrix's change replaced by its best rank-``rank``
    approximation (SVD), in the LoRA layout the runtime also reads (``NAME.up`` @ ``NAME.down``, float16). At rank 64
    the file is half the size (5.5 MB against 10.6) and, on the held-out SQuAD validation set, answers as the full
    change does within 0.01 (docs/measurements.md); rank 32 lost 0.03 of the bold phrase's hits."""
    weights = load_file(str(full))
    out = {}
    for key, value in weights.items():
        if ".layer." in key and key.endswith(".weight.delta_q"):
            layer = key.removesuffix(".weight.delta_q")
            change = value.float() * weights[f"{layer}.weight.delta_scale"].float()[:, None]
            u, s, vh = torch.linalg.svd(change, full_matrices=False)
            out[f"{layer}.up"] = (u[:, :rank] * s[:rank]).to(torch.float16).contiguous()
            out[f"{layer}.down"] = vh[:rank].to(torch.float16).contiguous()
        elif not (".layer." in key and key.endswith(".weight.delta_scale")):
            out[key] = value
    save_file(out, str(target))
