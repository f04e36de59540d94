"""Answer backends: one small interface, several implementations, one registry.

Like httpx's transports: the chain calls ``AnswerBackend.answer`` / ``stream``
and never knows which backend it holds. Adding a backend means writing a class
and decorating it with ``@register("name")``; no surface changes.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .. import errors
from ..embeddings import Embedder
from ..models import Answer, Passage
from ..prompts import Prompts
from ..settings import Settings


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str


class AnswerBackend(abc.ABC):
    name: str = ""

    def __init__(self, settings: Settings, embedder: Embedder, prompts: Prompts):
        self.settings = settings
        self.embedder = embedder
        self.prompts = prompts

    @abc.abstractmethod
    def answer(self, question: str, passages: list[Passage]) -> Answer: ...

    def stream(self, question: str, passages: list[Passage]) -> Iterator[str | Answer]:
        """Text pieces as they are produced, then the final checked :class:`Answer`.

        Backends that do not generate token by token yield the whole text at once.
        """
        final = self.answer(question, passages)
        yield final.answer
        yield final

    def refusal(self, notice: str | None = None) -> Answer:
        return Answer(answer=self.prompts.refusal, citations=[], refused=True, notice=notice)


BackendFactory = Callable[[Settings, Embedder, Prompts], AnswerBackend]
_REGISTRY: dict[str, BackendFactory] = {}


def register(name: str) -> Callable[[type[AnswerBackend]], type[AnswerBackend]]:
    def decorate(cls: type[AnswerBackend]) -> type[AnswerBackend]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def backend_names() -> list[str]:
    return sorted(_REGISTRY)


def create_backend(name: str, settings: Settings, embedder: Embedder, prompts: Prompts) -> AnswerBackend:
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise errors.ConfigError(f"unknown answer backend {name!r}; choose one of {', '.join(backend_names())}") from None
    return factory(settings, embedder, prompts)
