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
                if len({ep.value for ep in found}) > 1:  # which one wins would depend on sys.path
                    raise ConfigError(f"{self.what} {name!r} is declared by more than one package "
                                      f"({', '.join(_declared_by(ep) for ep in found)}); uninstall all but one")
                self._loaded[name] = self._load(found[0])
            return self._loaded[name]

    def _load(self, ep) -> Any:
        """The entry point's class: a plugin that fails to import, or names no class, is a ConfigError naming it."""
        try:
            loaded = ep.load()
        except Exception as exc:
            raise ConfigError(f"{self.what} {ep.name!r} ({_declared_by(ep)}) cannot be loaded: "
                              f"{type(exc).__name__}: {exc}") from None
        if not callable(loaded):
            raise ConfigError(f"{self.what} {ep.name!r} ({_declared_by(ep)}) is not a class: {ep.value} is a "
                              f"{type(loaded).__name__}")
        return loaded

    def origin(self, name: str) -> str:
        """Where ``name`` comes from, for messages: "package: module:Class", or "registered in this process"."""
        if name in self._extra:
            return "registered in this process"
        found = [ep for ep in entry_points(group=self.group) if ep.name == name]
        return _declared_by(found[0]) if found else "not installed"

    def register(self, name: str, factory: Any) -> Any:
        with self._lock:
            self._extra[name] = factory
        return factory


def _declared_by(ep) -> str:
    """"package-name: module:Class", for messages."""
    return f"{ep.dist.name if ep.dist is not None else 'an unknown package'}: {ep.value}"


BACKENDS = Registry("answer backend", "article_assistant.backends")
EMBEDDERS = Registry("embedder", "article_assistant.embedders")
STORES = Registry("vector store", "article_assistant.stores")
