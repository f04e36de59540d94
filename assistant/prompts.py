"""Prompt templates live in ``prompts/`` as files: edit one and the next answer uses it, no restart."""

from __future__ import annotations

import threading
from pathlib import Path

from .errors import ConfigError

NAMES = ("system", "answer", "overview", "catalogue", "passage", "refusal")


class Prompts:
    """The templates of one folder, read again whenever a file's modification time changes."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._stamp: tuple[int, ...] | None = None
        self._texts: dict[str, str] = {}
        self._current()  # a missing template is a ConfigError at start-up, not on the first question

    def _current(self) -> dict[str, str]:
        paths = [self.directory / f"{name}.txt" for name in NAMES]
        try:
            stamp = tuple(p.stat().st_mtime_ns for p in paths)
            with self._lock:
                if stamp != self._stamp:
                    self._texts = {name: p.read_text(encoding="utf-8").strip() for name, p in zip(NAMES, paths)}
                    self._stamp = stamp
                return self._texts
        except OSError as exc:
            raise ConfigError(f"missing prompt template {exc.filename}: {exc.strerror}") from None

    @property
    def system(self) -> str:
        return self._current()["system"]

    def request(self, kind: str) -> str:
        """The user-message template of a request kind: answer (factoid), overview or catalogue."""
        return self._current()["answer" if kind == "factoid" else kind]

    @property
    def passage(self) -> str:
        return self._current()["passage"]

    @property
    def refusal(self) -> str:
        return self._current()["refusal"]


def load_prompts(directory: Path) -> Prompts:
    return Prompts(directory)
