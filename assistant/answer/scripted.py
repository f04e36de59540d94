"""A backend that answers as a script says, for tests (in the spirit of httpx's ``MockTransport``).

    backend = ScriptedBackend(lambda question, passages: f"{passages[0].title} [1]")
    assistant = Assistant(settings, backend=backend)

The handler gets the standalone question and the retrieved passages and returns
an :class:`Answer`, or a plain string (an answer citing nothing). Every call is
recorded in ``calls``, so a test can check what reached the answer stage.
"""

from __future__ import annotations

from collections.abc import Callable

from ..models import Answer, Passage
from ..question.kinds import Request
from .base import AnswerBackend

Handler = Callable[[str, list[Passage]], "Answer | str"]


class ScriptedBackend(AnswerBackend):
    name = "scripted"

    def __init__(self, handler: Handler):  # needs no settings, model or prompts
        self.handler = handler
        self.calls: list[tuple[str, list[Passage]]] = []

    def answer(self, question: str, passages: list[Passage], request: Request | None = None) -> Answer:
        self.calls.append((question, passages))
        result = self.handler(question, passages)
        return Answer(answer=result) if isinstance(result, str) else result
