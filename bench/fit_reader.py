"""Fine-tune the reader (assistant/answer/reader-adapter.safetensors) and cross-validate it by article.

For every answerable question of the sets whose best quote holds a gold answer, the real assistant's quote
and the question are one training pair; the label is the gold's place in the quote. all-MiniLM-L6-v2 (the
embedder's packaged weights) gets a start/end head and low-rank adapters on its linear layers (LoRA, with
`peft`); only those are trained, so only those ship (the adapter file), and the runtime builds the ONNX
reader from the packaged weights and the adapter. Each fold's reader is built that same way.

k-fold by article: each fold's reader is fitted on the other folds' articles and scores the held-out
questions. Those out-of-fold scores are saved (``bench/out/reader_oof.pkl``) for bench/fit_phrase.py,
which fits the phrase ranker on reader scores for questions the reader had not seen, as at answer time.

Printed: ``highlight_em`` when the reader alone picks among the phrase candidates, held out.

    .venv/bin/python -m bench.fit_reader [--set ...] [--folds 5] [--epochs 5] [--write]   # about 20 min
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from peft import LoraConfig, get_peft_model
from peft.tuners.lora import LoraLayer
from safetensors.torch import save_file
from sklearn.model_selection import GroupKFold
from transformers import AutoModel, AutoTokenizer

from assistant.answer import phrases, reader
from assistant.embeddings import packaged_model_dir
from assistant.embeddings.onnx_export import export_reader
from assistant.eval.metrics import contains_answer
from assistant.question.analysis import analyse
from bench.question_sets import QuestionSet, answered, resolve

ROOT = Path(__file__).resolve().parent.parent
OOF_PATH = ROOT / "bench" / "out" / "reader_oof.pkl"
BATCH = 16
# Every linear layer of the six transformer blocks (not the unused pooler).
ADAPTED = r".*encoder\.layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)"


@dataclass
class Pair:
    key: str  # set/question id
    group: str  # set/article: folds never split one
    question: str  # as the answer stage reads it (a follow-up rewritten)
    quote: str
    golds: tuple[str, ...]
    candidates: list[tuple[int, int]]  # the phrase candidates' character spans (empty: the quote holds no gold)


def collect(question_set: QuestionSet) -> list[Pair]:
    pairs = []
    for assistant, q, answer, best in answered(question_set):
        question = answer.question or q.question
        spans = []
        if contains_answer(best.quote, q.answers):
            spans = [(c.start, c.end) for c in phrases.candidates(analyse(question), best.quote, assistant.embedder)]
        pairs.append(Pair(f"{question_set.name}/{q.id}", f"{question_set.name}/{q.article}", question, best.quote,
                          tuple(q.answers), spans))
    return pairs


def gold_span(pair: Pair) -> tuple[int, int] | None:
    low = pair.quote.lower()
    for gold in sorted(pair.golds, key=len):
        at = low.find(gold.lower())
        if at >= 0:
            return at, at + len(gold)
    return None


class SpanHead(torch.nn.Module):
    """MiniLM with LoRA adapters (its own weights frozen) and a trained start/end head."""

    def __init__(self, model_dir: Path, rank: int = 16, random_adapters: bool = False):
        super().__init__()
        base = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager")
        # random_adapters: non-zero updates from the start (peft's default starts them at zero), for tests
        config = LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.05, target_modules=ADAPTED,
                            init_lora_weights=not random_adapters)
        self.encoder = get_peft_model(base, config)
        self.head = torch.nn.Linear(base.config.hidden_size, 2)

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        logits = self.head(hidden)
        return logits[..., 0], logits[..., 1]


def fine_tune(pairs: list[Pair], epochs: int, lr: float, rank: int, seed: int = 0) -> SpanHead:
    torch.manual_seed(seed)
    model_dir = packaged_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    model = SpanHead(model_dir, rank)
    data = [p for p in pairs if gold_span(p)]
    trained = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimiser = torch.optim.AdamW(trained, lr=lr, weight_decay=0.01)
    steps = epochs * -(-len(data) // BATCH)
    # linear warm-up over the first 10 %, then linear decay to 0
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps)
    )
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(data))
        for k in range(0, len(data), BATCH):
            batch = [data[j] for j in order[k : k + BATCH]]
            enc = tokenizer([p.question for p in batch], [p.quote for p in batch], truncation="only_second",
                            max_length=reader.MAX_TOKENS, padding=True, return_offsets_mapping=True, return_tensors="pt")
            targets = [_token_span(enc, b, *gold_span(p)) for b, p in enumerate(batch)]
            keep = [b for b, t in enumerate(targets) if t]
            if not keep:
                continue
            start, end = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
            outside = torch.tensor([[s != 1 for s in enc.sequence_ids(b)] for b in range(len(batch))])
            start, end = start.masked_fill(outside, -1e4), end.masked_fill(outside, -1e4)
            loss = (torch.nn.functional.cross_entropy(start[keep], torch.tensor([targets[b][0] for b in keep]))
                    + torch.nn.functional.cross_entropy(end[keep], torch.tensor([targets[b][1] for b in keep]))) / 2
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    return model.eval()


def _token_span(enc, row: int, start: int, end: int) -> tuple[int, int] | None:
    first = last = None
    for i, ((s, e), sequence) in enumerate(zip(enc["offset_mapping"][row].tolist(), enc.sequence_ids(row))):
        if sequence != 1:
            continue
        if first is None and e > start:
            first = i
        if s < end:
            last = i
    return (first, last) if first is not None and last is not None and last >= first else None


def save_adapter(model: SpanHead, target: Path) -> None:
    """What fine-tuning added, in the format the runtime merges (assistant/embeddings/onnx_export.export_reader):
    per adapted layer ``name.down`` (LoRA's A) and ``name.up`` (B times the scaling), and the head; float16."""
    tensors = {}
    for name, module in model.encoder.named_modules():
        if isinstance(module, LoraLayer):
            name = name.removeprefix("base_model.model.")
            tensors[f"{name}.down"] = module.lora_A["default"].weight
            tensors[f"{name}.up"] = module.lora_B["default"].weight * module.scaling["default"]
    tensors["head.weight"], tensors["head.bias"] = model.head.weight, model.head.bias
    save_file({k: v.detach().to(torch.float16).contiguous() for k, v in tensors.items()}, str(target))


def reader_pick_hits(pairs: list[Pair], logits: dict[str, reader.SpanLogits]) -> list[bool]:
    """Does the candidate the reader alone scores best hold a gold (a quote without one is a miss)?"""
    hits = []
    for p in pairs:
        scored = [(s, span) for span in p.candidates if (s := logits[p.key].score(*span)) is not None]
        best = max(scored, default=None)
        hits.append(best is not None and contains_answer(p.quote[best[1][0] : best[1][1]], p.golds))
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", help="question sets under shared/evaldata, or a path")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--rank", type=int, default=16, help="LoRA rank of the adapters")
    parser.add_argument("--write", action="store_true", help=f"write the reader fitted on all sets to {reader.ADAPTER_PATH}")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    pairs = [p for s in resolve(args.set) for p in collect(s)]
    groups = [p.group for p in pairs]
    print(f"{len(pairs)} answered answerable questions, {len(set(groups))} articles; "
          f"{sum(bool(gold_span(p)) for p in pairs)} quotes hold a gold", flush=True)
    out_of_fold: dict[str, reader.SpanLogits] = {}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for fold, (train, test) in enumerate(GroupKFold(n_splits=args.folds).split(pairs, groups=groups), start=1):
            adapter, path = Path(tmp) / f"fold{fold}.safetensors", Path(tmp) / f"fold{fold}.onnx"
            save_adapter(fine_tune([pairs[i] for i in train], args.epochs, args.lr, args.rank), adapter)
            export_reader(packaged_model_dir(), adapter, path)  # as the runtime builds the shipped one
            held = [pairs[i] for i in test]
            fold_reader = reader.Reader(onnx_path=path)
            for p in held:
                out_of_fold[p.key] = fold_reader.logits(p.question, [p.quote])[0]
            print(f"fold {fold}/{args.folds}: reader alone highlight_em {np.mean(reader_pick_hits(held, out_of_fold)):.3f} "
                  f"({time.monotonic() - started:.0f} s)", flush=True)
    print(f"held-out ({args.folds} folds by article): reader alone highlight_em "
          f"{np.mean(reader_pick_hits(pairs, out_of_fold)):.3f} (the phrase ranker adds its scores to its other signals)")
    OOF_PATH.parent.mkdir(parents=True, exist_ok=True)
    OOF_PATH.write_bytes(pickle.dumps(out_of_fold))
    print(f"wrote the out-of-fold scores to {OOF_PATH.relative_to(ROOT)}")
    if args.write:
        save_adapter(fine_tune(pairs, args.epochs, args.lr, args.rank), reader.ADAPTER_PATH)
        print(f"wrote {reader.ADAPTER_PATH.relative_to(ROOT)} ({reader.ADAPTER_PATH.stat().st_size / 2**20:.1f} MB)")


if __name__ == "__main__":
    main()
