"""Plugins: answer backends, embedders and vector stores, found by entry point.

As simonw/llm finds its plugins, any installed package may add one by declaring
an entry point in its own ``pyproject.toml``; this project declares its own the
same way::

    [project.entry-points."article_assistant.backends"]
    extractive = "assistant.answer.extractive:ExtractiveBackend"

Settings (``backend``, ``embedder``, ``store``) and the CLI's choices are the
names found here, so adding one is one class and one line, no other edit.
``register`` adds one in-process (a script, a test) without packaging it.
"""

from __future__ import annotations

import threading
from importlib.metadata import entry_points
from typing import Any

from .errors import ConfigError


class Registry:
    def __init__(self, what: str, group: str):
        self.what = what  # "answer backend": for messages
        self.group = group
        self._extra: dict[str, Any] = {}
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        return sorted({ep.name for ep in entry_points(group=self.group)} | set(self._extra))

    def get(self, name: str) -> Any:
        """The class (or factory) registered as ``name``; ConfigError naming the choices otherwise."""
        with self._lock:
            if name in self._extra:
                return self._extra[name]
            if name not in self._loaded:
                found = [ep for ep in entry_points(group=self.group) if ep.name == name]
                if not found:
                    raise ConfigError(f"unknown {self.what} {name!r}; choose one of {', '.join(self.names())}")
                self._loaded[name] = found[0].load()
            return self._loaded[name]

    def register(self, name: str, factory: Any) -> Any:
        with self._lock:
            self._extra[name] = factory
        return factory


BACKENDS = Registry("answer backend", "article_assistant.backends")
EMBEDDERS = Registry("embedder", "article_assistant.embedders")
STORES = Registry("vector store", "article_assistant.stores")
