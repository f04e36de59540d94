"""Prompt templates live in ``prompts/`` as files; this loads them once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import ConfigError

_NAMES = ("system", "answer", "passage", "condense", "refusal")


@dataclass(frozen=True)
class Prompts:
    system: str
    answer: str
    passage: str
    condense: str
    refusal: str


@lru_cache(maxsize=8)
def load_prompts(directory: Path) -> Prompts:
    texts = {}
    for name in _NAMES:
        path = Path(directory) / f"{name}.txt"
        try:
            texts[name] = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"missing prompt template {path}: {exc.strerror}") from None
    return Prompts(**texts)
