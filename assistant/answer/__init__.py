"""Answer stage: question + ``[Passage]`` → :class:`~assistant.models.Answer`."""

from .base import AnswerBackend, Turn, backend_names, create_backend, register
from . import extractive  # noqa: F401  (registers the built-in backends)

__all__ = ["AnswerBackend", "Turn", "backend_names", "create_backend", "register"]
