"""Speed of a generative backend: time to first token and tokens per second, plus a quick answer score.

    .venv/bin/python -m bench.llm                                  # local backend, seed questions
    .venv/bin/python -m bench.llm --questions ../shared/evaldata/xquad-dev/questions.jsonl \
        --corpus ../shared/evaldata/xquad-dev/articles --limit 100
    .venv/bin/python -m bench.llm --runtime transformers           # the same model through transformers

The corpus index is the one `assistant eval` builds and caches. For each
question the passages are retrieved once, then the backend's token stream is
timed: TTFT is the wait for the first piece (prompt processing included), and
tokens/s is the decode rate after it (tokens counted on the reply with the
runtime's tokenizer; other backends count words). str_em is SQuAD's normalised-substring match, as in `assistant eval`.
Models are loaded (and one question answered) before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from assistant.eval.corpus import default_cache_root, open_eval_index
from assistant.eval.metrics import contains_answer, strip_citation_markers
from assistant.eval.questions import load_questions
from assistant.models import Answer
from assistant.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
class TransformersModel:
    """The same GGUF through transformers (de-quantised to float32 torch weights), for comparison only."""

    def __init__(self, path: Path, threads: int):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(threads)
        self.tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        self.model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, messages, max_tokens: int, temperature: float):
        from threading import Thread

        from transformers import TextIteratorStreamer

        inputs = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        worker = Thread(target=self.model.generate, kwargs={**inputs, "streamer": streamer, "max_new_tokens": max_tokens, **sampling})
        worker.start()
        yield from streamer
        worker.join()


def time_stream(assistant, backend, question: str, count_tokens) -> dict:
    """Stream one answer; tokens are counted on the reply text (transformers streams words, not tokens)."""
    started = time.perf_counter()
    first = last = None
    reply = ""
    final: Answer | None = None
    for piece in assistant.stream(question):
        now = time.perf_counter()
        if isinstance(piece, Answer):
            final = piece
            continue
        reply += piece
        first = first or now
        last = now
    assert final is not None
    tokens = count_tokens(reply)
    shown = final.passages[: backend.max_passages]  # what the model was shown, carried by the answer
    question = final.question
    return {
        "prompt_tokens": sum(count_tokens(m["content"]) for m in backend.build_messages(question, shown)),
        "ttft_s": (first - started) if first else None,
        "tokens": tokens,
        "tokens_per_s": (tokens - 1) / (last - first) if first and last and last > first else None,
        "total_s": time.perf_counter() - started,
        "answer": final,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=Path, default=ROOT.parent / "shared/evaldata/seed/questions.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "seeds")
    parser.add_argument("--backend", default="local")
    parser.add_argument("--runtime", choices=["llama-cpp", "transformers"], default="llama-cpp",
                        help="local backend only: the runtime the model runs in")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--k", type=int, help="passages retrieved (default from settings)")
    parser.add_argument("--out", type=Path, help="write per-question results here (JSONL)")
    args = parser.parse_args()

    settings = load_settings(backend=args.backend, top_k=args.k)
    index = open_eval_index(args.corpus, settings, default_cache_root())
    assistant = index.assistant
    load_started = time.perf_counter()
    assistant.warm_up()  # loads the backend's model (and the embedder's)
    backend = assistant.backend(args.backend)
    if args.backend == "local" and args.runtime == "transformers":
        backend.model = TransformersModel(backend.model_file, settings.local_threads)
    count_tokens = backend.model.count_tokens if args.backend == "local" else lambda text: len(text.split())
    load_s = time.perf_counter() - load_started
    questions = load_questions(args.questions)[: args.limit]
    # First run, off the clock, on a question of its own: the first timed one would find its prompt cached.
    time_stream(assistant, backend, "What is this article about?", count_tokens)

    rows = []
    for q in questions:
        timing = time_stream(assistant, backend, q.question, count_tokens)
        answer: Answer = timing.pop("answer")
        rows.append({
            "id": q.id, "answerable": q.answerable, **timing, "answer": answer.answer, "refused": answer.refused,
            "notice": answer.notice, "citations": len(answer.citations),
            "str_em": contains_answer(strip_citation_markers(answer.answer), q.answers) and not answer.refused
            if q.answerable else None,
        })
        print(f"{q.id}: {timing['ttft_s'] or 0:.2f}s ttft, {timing['tokens']} tok, "
              f"{timing['tokens_per_s'] or 0:.1f} tok/s | {answer.answer[:90]!r}", file=sys.stderr)

    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("".join(json.dumps(r, default=str) + "\n" for r in rows))
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    summary = {
        "backend": args.backend + (f" ({args.runtime})" if args.backend == "local" else ""),
        "questions": len(rows),
        "model_load_s": round(load_s, 2),
        "prompt_tokens_median": _median(r["prompt_tokens"] for r in rows),
        "ttft_median_s": _median(r["ttft_s"] for r in rows),
        "tokens_per_s_median": _median(r["tokens_per_s"] for r in rows),
        "tokens_median": _median(r["tokens"] for r in rows),
        "answer_s_median": _median(r["total_s"] for r in rows),
        "str_em": round(sum(r["str_em"] for r in answerable) / max(1, len(answerable)), 3),
        "refused_answerable": sum(r["refused"] for r in answerable),
        "refused_unanswerable": f"{sum(r['refused'] for r in unanswerable)}/{len(unanswerable)}",
        "fallbacks": sum(bool(r["notice"]) for r in rows),
    }
    print(json.dumps(summary, indent=2))


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


if __name__ == "__main__":
    main()
