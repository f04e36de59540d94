"""article-assistant: answers questions about your articles and cites the passage behind every claim.

    from assistant import Assistant, Filters, Turn

    assistant = Assistant()                      # settings from ASSISTANT_* and assistant.toml
    assistant.ingest(["seeds/"])
    answer = assistant.ask("What does JIG stand for?")
    print(answer.answer, [c.quote for c in answer.citations])

The names below load lazily, so importing one stage (``assistant.text``) does not load the models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["Answer", "Assistant", "Citation", "Filters", "Turn"]

if TYPE_CHECKING:
    from .core import Assistant
    from .models import Answer, Citation, Filters, Turn


def __getattr__(name: str):
    if name == "Assistant":
        from .core import Assistant

        return Assistant
    if name in ("Answer", "Citation", "Filters", "Turn"):
        from . import models

        return getattr(models, name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
