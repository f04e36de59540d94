"""Every error the assistant raises on purpose, in one place.

Surfaces turn these into a one-line CLI message with a non-zero exit, an HTTP
4xx with a JSON body, or a message in the chat. Anything else is a bug.

    AssistantError
    ├── ConfigError                 settings that cannot work
    ├── IngestError(path)           one input file could not be ingested
    │   ├── SourceNotFound
    │   ├── UnsupportedFileType
    │   ├── FileTooLarge
    │   ├── UndecodableFile         binary or unknown encoding
    │   ├── EmptyDocument           nothing readable left after extraction
    │   └── FetchError              a link could not be fetched (timeout, size, type, robots, private address)
    ├── StoreError                  the index cannot be read or written
    │   ├── EmbedderMismatch        index built with another embedder
    │   ├── IndexBusy               another process holds the write lock
    │   └── DiskFull                too little free space to write; nothing was written
    ├── ArticleNotFound
    ├── CollectionNotFound          no collection with that name
    ├── CollectionConflict          a name taken, a non-empty collection removed without force, `default` touched
    ├── OutOfScope(field)           a key scoped to some collections named another (403)
    ├── JobNotFound                 no upload job with that id (or it is long gone)
    ├── FeedNotFound                no followed feed with that id or link
    ├── ConversationNotFound        no conversation with that id for this browser session or key
    ├── AnswerNotFound              no kept answer with that id for this caller (feedback names one)
    ├── InvalidRequest(field)       a question or filter that cannot be asked
    │   ├── OverBudget              an upload over a per-request limit (files, chunks)
    │   └── UnsupportedMediaType    an HTTP body in a type the route does not take (not JSON, not multipart)
    ├── BackendError                an answer backend failed
    │   └── LLMUnavailable(notice)  the language model gave no usable reply (down, timeout, garbage);
    │                               LLM backends catch it and show the extractive answer with ``notice``
    └── GateFailed                  `assistant eval --fail-under`: a metric outside its bound (eval/gates.py)
"""

from __future__ import annotations

from pathlib import Path


def quoted(value: object, limit: int = 80) -> str:
    """``value`` as a message quotes it: its repr, cut after ``limit`` characters (an id a caller sends can be of
    any length, and a message echoing 100,000 of them is no one line)."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    return repr(value)


class AssistantError(Exception):
    """Base class: the message is meant for the user."""

    #: HTTP status a web surface answers with.
    status_code = 400
    #: The CLI's exit status, where it is not the command's own for errors (GateFailed's 1 is a verdict, not a fault).
    exit_code: int | None = None


class ConfigError(AssistantError):
    status_code = 500


class IngestError(AssistantError):
    status_code = 422

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class SourceNotFound(IngestError):
    status_code = 404


class UnsupportedFileType(IngestError):
    status_code = 415


class FileTooLarge(IngestError):
    status_code = 413


class UndecodableFile(IngestError):
    pass


class EmptyDocument(IngestError):
    pass


class FetchError(IngestError):
    status_code = 422


class StoreError(AssistantError):
    status_code = 503


class EmbedderMismatch(StoreError):
    pass


class IndexBusy(StoreError):
    pass


class DiskFull(StoreError):
    status_code = 507  # Insufficient Storage


class ArticleNotFound(AssistantError):
    status_code = 404

    def __init__(self, article_id: str, field: str = "article_id", where: str = "the index"):
        self.article_id, self.field = article_id, field
        super().__init__(f"{field}: no article with id {quoted(article_id)} in {where}")


class CollectionNotFound(AssistantError):
    status_code = 404

    def __init__(self, name: str, field: str = "collection"):
        self.name, self.field = name, field
        super().__init__(f"{field}: no collection named {name!r} (`assistant collections` lists them)")


class CollectionConflict(AssistantError):
    status_code = 409


class OutOfScope(AssistantError):
    """A key scoped to some collections asked for another: refused, never answered from nothing. ``field`` is the
    request's field that named it, where one did (a route that needs an unscoped key names none)."""

    status_code = 403

    def __init__(self, reason: str, field: str | None = None):
        self.field, self.reason = field, reason
        super().__init__(f"{field}: {reason}" if field else reason)


class JobNotFound(AssistantError):
    status_code = 404

    def __init__(self, job_id: str):
        self.field = "job_id"
        super().__init__(f"job_id: no upload job with id {quoted(job_id)} (jobs are kept 7 days)")


class FeedNotFound(AssistantError):
    status_code = 404

    def __init__(self, feed: int | str, where: str = ""):
        self.field = "feed"
        super().__init__(f"feed: no feed {quoted(feed)}{where} (`assistant feeds list`)")


class ConversationNotFound(AssistantError):
    status_code = 404

    def __init__(self, conversation_id: str):
        self.field = "conversation_id"
        super().__init__(f"conversation_id: no conversation with id {quoted(conversation_id)} in this session")


class AnswerNotFound(AssistantError):
    status_code = 404

    def __init__(self, answer_id: str):
        self.field = "answer_id"
        super().__init__(f"answer_id: no answer with id {quoted(answer_id)} was given to you (or it has expired)")


class InvalidRequest(AssistantError):
    status_code = 422

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class OverBudget(InvalidRequest):
    status_code = 413


class UnsupportedMediaType(InvalidRequest):
    status_code = 415

    def __init__(self, reason: str):
        super().__init__("body", reason)


class BackendError(AssistantError):
    status_code = 502


class LLMUnavailable(BackendError):
    """The model could not produce a reply; ``notice`` tells the user why, in one line."""

    def __init__(self, notice: str, detail: str = ""):
        super().__init__(detail or notice)
        self.notice = notice
