"""Answer stage: question + ``[Passage]`` → :class:`~assistant.models.Answer`."""

from .base import AnswerBackend, Turn, backend_names, create_backend, register

# Importing a backend module registers it. Each is cheap to import: heavy
# libraries (langchain-openai, the local model's runtime) load when the backend is created.
from . import extractive, local, openai_backend  # noqa: F401, E402

__all__ = ["AnswerBackend", "Turn", "backend_names", "create_backend", "register"]
