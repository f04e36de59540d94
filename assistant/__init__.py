"""article-assistant: answers questions about your articles and cites the passage behind every claim.

    from assistant import Assistant, Filters, Turn

    assistant = Assistant()                      # settings from ASSISTANT_* and assistant.toml
    assistant.ingest(["seeds/"])
    answer = assistant.ask("What does JIG stand for?")
    print(answer.answer, [c.quote for c in answer.citations])

The public names: the door (``Assistant``), its settings, the values it takes and gives, the plugin base classes
(an answer backend, an embedder, a vector store: docs/plugins.md) and the error tree. They load lazily, so
importing one stage (``assistant.text``) does not load the models. tests/test_public_api.py holds the list.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__all__ = [
    "Answer", "AnswerBackend", "AnswerNotFound", "Article", "ArticleInfo", "ArticleNotFound", "Assistant",
    "AssistantError", "BackendError", "Chunk", "Citation", "CollectionConflict", "CollectionInfo", "CollectionNotFound", "ConfigError",
    "ConversationNotFound", "DiskFull",
    "Embedder", "EmbedderMismatch", "EmptyDocument", "FeedNotFound", "FetchError", "FileTooLarge", "Filters", "IndexBusy",
    "IngestError", "IngestReport", "InvalidRequest", "JobNotFound", "LLMUnavailable", "Link", "OutOfScope", "OverBudget",
    "Passage", "Settings", "SourceNotFound", "StoreError", "Turn", "UndecodableFile", "UnsupportedFileType", "UnsupportedMediaType",
    "VectorHit", "VectorStore", "load_settings", "parse_link",
]
# the module that defines each name; the error tree is all of .errors
_HOME = {
    "Assistant": ".core", "Settings": ".settings", "load_settings": ".settings",
    "AnswerBackend": ".answer.base", "Embedder": ".embeddings", "VectorHit": ".index.vectors", "VectorStore": ".index.vectors",
    **dict.fromkeys(("Answer", "Article", "ArticleInfo", "Chunk", "Citation", "CollectionInfo", "Filters",
                     "IngestReport", "Link", "Passage", "Turn", "parse_link"), ".models"),
}

if TYPE_CHECKING:
    from .answer.base import AnswerBackend
    from .core import Assistant
    from .embeddings import Embedder
    from .errors import (
        AnswerNotFound,
        ArticleNotFound,
        AssistantError,
        BackendError,
        CollectionConflict,
        CollectionNotFound,
        ConfigError,
        ConversationNotFound,
        DiskFull,
        EmbedderMismatch,
        EmptyDocument,
        FeedNotFound,
        FetchError,
        FileTooLarge,
        IndexBusy,
        IngestError,
        InvalidRequest,
        JobNotFound,
        LLMUnavailable,
        OutOfScope,
        OverBudget,
        SourceNotFound,
        StoreError,
        UndecodableFile,
        UnsupportedFileType,
        UnsupportedMediaType,
    )
    from .index.vectors import VectorHit, VectorStore
    from .models import (
        Answer,
        Article,
        ArticleInfo,
        Chunk,
        Citation,
        CollectionInfo,
        Filters,
        IngestReport,
        Link,
        Passage,
        Turn,
        parse_link,
    )
    from .settings import Settings, load_settings


def __getattr__(name: str):
    if name in __all__:
        return getattr(import_module(_HOME.get(name, ".errors"), __name__), name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
