"""Answer backends: one small interface, several implementations, one registry.

Like httpx's transports: the chain calls ``AnswerBackend.answer`` / ``stream``
and never knows which backend it holds. Adding a backend means writing a class
and naming it in the ``article_assistant.backends`` entry points (see
assistant/registry.py); no surface changes. ``Assistant(backend=...)`` also
takes a backend object directly, such as :class:`ScriptedBackend` in tests.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Callable, Iterator

from ..embeddings import Embedder
from ..errors import AssistantError, ConfigError
from ..models import Answer, Passage
from ..prompts import Prompts
from ..question.kinds import Request
from ..registry import BACKENDS
from ..settings import Settings


class AnswerBackend(abc.ABC):
    name: str = ""

    def __init__(self, settings: Settings, embedder: Embedder, prompts: Prompts):
        self.settings = settings
        self.embedder = embedder
        self.prompts = prompts

    @abc.abstractmethod
    def answer(self, question: str, passages: list[Passage], request: Request | None = None) -> Answer:
        """``request`` says what kind of request it is (kinds.py): a factoid question when None."""

    def stream(self, question: str, passages: list[Passage], request: Request | None = None) -> Iterator[str | Answer]:
        """Text pieces as they are produced, then the final checked :class:`Answer`.

        Backends that do not generate token by token yield the whole text at once.
        """
        final = self.answer(question, passages, request)
        yield final.answer
        yield final

    def warm_up(self) -> None:  # noqa: B027 - an optional hook: most backends have nothing to load
        """Build or load now what the first answer would otherwise wait for (servers call this at start-up)."""

    def refusal(self, notice: str | None = None) -> Answer:
        return Answer(answer=self.prompts.refusal, citations=[], refused=True, notice=notice)


def register(name: str) -> Callable[[type[AnswerBackend]], type[AnswerBackend]]:
    """Add a backend in-process (a script, a test); packaged ones declare an entry point instead."""

    def decorate(cls: type[AnswerBackend]) -> type[AnswerBackend]:
        cls.name = name
        return BACKENDS.register(name, cls)

    return decorate


def create_backend(name: str, settings: Settings, embedder: Embedder, prompts: Prompts) -> AnswerBackend:
    """The backend ``name`` made for these settings; a plugin that cannot be made, or whose ``answer`` does not take
    (question, passages, request), is a ConfigError naming it, at start-up rather than as a 500 per question."""
    factory = BACKENDS.get(name)
    try:
        backend = factory(settings, embedder, prompts)
        inspect.signature(backend.answer).bind("question", [], None)
    except AssistantError:  # its own words: a missing key, a model file not there
        raise
    except Exception as exc:
        raise ConfigError(f"answer backend {name!r} ({BACKENDS.origin(name)}) cannot be used: "
                          f"{type(exc).__name__}: {exc}") from None
    return backend
