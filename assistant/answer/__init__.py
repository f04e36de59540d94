"""Answer stage: question + ``[Passage]`` → :class:`~assistant.models.Answer`."""

from .base import AnswerBackend, create_backend, register
from .scripted import ScriptedBackend

# The backends themselves (extractive, openai, local) are entry points (pyproject.toml), loaded when first used.

__all__ = ["AnswerBackend", "ScriptedBackend", "create_backend", "register"]
