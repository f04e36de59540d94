"""The answers of /v1 in the shapes OpenAI clients read: chat completions, text completions, their streams.

Citations travel three ways, so that every client finds them:

* ``annotations`` on the message (and on the stream's delta that carries the text): OpenAI's
  ``url_citation``, one per ``[n]`` in the answer, whose ``start_index``/``end_index`` are that marker's place in
  the text and whose ``url`` a person can open (:meth:`ArticleLinks.url`). Chat front ends show these as sources.
* ``citations`` beside ``choices``: exactly /api/ask's, for clients that read extra fields (the ``openai`` SDK
  keeps them on the response object).
* with the model ``article-assistant-sources``, the text itself ends with a plain **Sources** list: for
  clients that pass nothing but the text along (LangChain's ``ChatOpenAI``, LlamaIndex's ``OpenAILike``).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..errors import AssistantError
from ..models import Answer, Citation

log = logging.getLogger("assistant.web")

MODEL_ID = "article-assistant"
SOURCES_MODEL_ID = "article-assistant-sources"
MODELS = {
    MODEL_ID: "Answers with [n] markers; the passages in `annotations` and `citations`.",
    SOURCES_MODEL_ID: "The same answers, their text ending with a plain-text Sources list.",
}
# A fixed time (the day /v1 first shipped, 2026-12-01 UTC): a model's `created` must not change when the server restarts.
MODEL_CREATED = 1796083200
# The final answer's markers: the answer stage writes each citation as "[n]" (article text never adds one).
MARKER = re.compile(r"\[(\d+)\]")

#: How this server's citations become links: ``ArticleLinks.url`` bound to the request's base URL.
LinkOf = Callable[[Citation], str]


def base_model(model: str) -> str:
    """``article-assistant-sources/sport`` -> ``article-assistant-sources``: a model id per collection is the
    model's id, a slash and the collection's name (as ``org/model`` ids are, so clients take them as they are)."""
    return model.split("/", 1)[0]


def model_card(model: str) -> dict:
    base, _, collection = model.partition("/")
    description = MODELS[base] + (f" From the collection {collection!r} only." if collection else "")
    return {"id": model, "object": "model", "created": MODEL_CREATED, "owned_by": "article-assistant",
            "description": description}


# A front end shows /v1's content as Markdown (Open WebUI, LibreChat…). Article text is data there too: what could
# be markup ("![x](http://…)" loading an image, "<img …>", "*…*", "[2]" or "&#91;2&#93;" passing as a citation, a
# "# " heading or "- " list at a line's start) is backslash-escaped, so it shows as written; only the answer stage's
# own "[n]" stay markers.
_MARKDOWN_ACTIVE = re.compile(r"[\\`*_\[\]<>~|&]")
_LINE_START_MARKUP = re.compile(r"^([ \t]*)([#+=-]|\d+[.)])", re.M)  # a heading, list item, setext line


def inert(text: str) -> str:
    """``text`` with every Markdown-active character escaped, and what would start a block at a line's start."""
    escaped = _MARKDOWN_ACTIVE.sub(r"\\\g<0>", text)
    return _LINE_START_MARKUP.sub(lambda m: m.group(1) + (m.group(2)[:-1] + "\\" + m.group(2)[-1]), escaped)


_ESCAPED_ITEM = re.compile(r"^\\- ", re.M)


def markdown_inert(answer: str, *, own_list: bool = False) -> str:
    """The answer's text for Markdown: its own ``[n]`` markers kept, everything between them :func:`inert`.
    ``own_list``: the answer is the assistant's own list (a catalogue's "- Title: …" lines), whose items stay
    items; what each says is still escaped."""
    parts, at = [], 0
    for marker in MARKER.finditer(answer):
        parts += [inert(answer[at:marker.start()]), marker.group(0)]
        at = marker.end()
    said = "".join(parts) + inert(answer[at:])
    return _ESCAPED_ITEM.sub("- ", said) if own_list else said


def markdown_link(url: str) -> str:
    """A link as Markdown shows it as written: what could close or open markup percent-encoded (the same URL)."""
    return quote(url, safe=":/?#&=%~+!$,;@-._'")


def sources_text(answer: Answer, link_of: LinkOf) -> str:
    """The plain-text list appended for ``article-assistant-sources``: one line per citation."""
    lines = [f'[{c.n}] {inert(c.title)}: "{inert(c.quote)}" {markdown_link(link_of(c))}' for c in answer.citations]
    return "\n\nSources:\n" + "\n".join(lines) if lines else ""


def annotations(text: str, citations: list[Citation], link_of: LinkOf) -> list[dict]:
    """One ``url_citation`` per ``[n]`` in the answer's text (the Sources list, after it, is not annotated)."""
    cited = {c.n: c for c in citations}
    found = []
    for marker in MARKER.finditer(text):
        citation = cited.get(int(marker.group(1)))
        if citation is not None:
            found.append({"type": "url_citation", "url_citation": {
                "url": link_of(citation), "title": citation.title,
                "start_index": marker.start(), "end_index": marker.end(),
            }})
    return found


def attached(answer: Answer, reader: bool) -> dict:
    """What travels beside ``choices``: the answer's citations (exactly /api/ask's), ``refused``, ``notice``."""
    public = answer.public(reader=reader)
    extra = {"citations": public["citations"], "refused": public["refused"]}
    if "notice" in public:
        extra["notice"] = public["notice"]
    return extra


@dataclass(frozen=True)
class Reply:
    """One reply as /v1 sends it: its text (with Sources for that model), annotations and what goes beside."""

    text: str
    annotations: list[dict]
    extra: dict

    @classmethod
    def of(cls, answer: Answer, *, model: str, reader: bool, link_of: LinkOf) -> Reply:
        shown = answer.for_reader() if reader else answer
        said = markdown_inert(shown.answer, own_list=answer.kind == "catalogue")
        text = said + (sources_text(shown, link_of) if base_model(model) == SOURCES_MODEL_ID else "")
        return cls(text, annotations(said, list(shown.citations), link_of), attached(answer, reader))

    @classmethod
    def chore(cls, text: str) -> Reply:
        """A reply that is no answer from the articles (a front end's title, tags…): nothing cited."""
        return cls(text, [], {"citations": [], "refused": False})


class Completion:
    """The ids and times one answer's completion (or chunks) share; ``kind`` "chat" or "text"."""

    def __init__(self, model: str, kind: str = "chat"):
        self.model, self.kind = model, kind
        self.id = f"{'chatcmpl' if kind == 'chat' else 'cmpl'}-{secrets.token_hex(12)}"
        self.created = int(time.time())

    def head(self, obj: str) -> dict:
        return {"id": self.id, "object": obj, "created": self.created, "model": self.model}

    def whole(self, reply: Reply) -> dict:
        if self.kind == "chat":
            message = {"role": "assistant", "content": reply.text, "refusal": None, "annotations": reply.annotations}
            choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
            obj = "chat.completion"
        else:
            choice = {"index": 0, "text": reply.text, "logprobs": None, "finish_reason": "stop"}
            obj = "text_completion"
        # usage is None: the server counts no model tokens (the default backend writes none).
        return {**self.head(obj), "choices": [choice], "usage": None, **reply.extra}

    def chunk(self, text: str | None, finish_reason: str | None = None, *, first: bool = False,
              annotations: list[dict] | None = None, **extra: Any) -> str:
        if self.kind == "chat":
            delta: dict[str, Any] = {"role": "assistant", "content": ""} if first else {}
            if text is not None:
                delta["content"] = text
            if annotations:
                delta["annotations"] = annotations
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            obj = "chat.completion.chunk"
        else:
            choice = {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish_reason}
            obj = "text_completion"
        return sse({**self.head(obj), "choices": [choice], **extra})


def sse(data: dict | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"


def events(completion: Completion, first: str | Answer, pieces: Iterator[str | Answer],
           make_reply: Callable[[Answer], Reply], error_body: Callable[[AssistantError | None], dict]) -> Iterator[str]:
    """The stream's chunks: the start, then the checked answer's text with its annotations, then ``citations``
    and the stop. An LLM backend's raw tokens are not sent: the citation check may drop or renumber sentences,
    and a stream cannot take back what it sent."""
    try:
        if completion.kind == "chat":
            yield completion.chunk(None, first=True)
        final = first
        while not isinstance(final, Answer):
            final = next(pieces)
        yield from _reply_chunks(completion, make_reply(final))
    except AssistantError as exc:  # the response has started: report in-band, as OpenAI's streams do
        yield sse(error_body(exc))
    except Exception:  # StopIteration (no final answer) included; never a traceback
        log.exception("streaming a completion failed")
        yield sse(error_body(None))
    finally:
        pieces.close()
    yield sse("[DONE]")


def reply_events(completion: Completion, reply: Reply) -> Iterator[str]:
    """A reply known before the stream starts, streamed."""
    if completion.kind == "chat":
        yield completion.chunk(None, first=True)
    yield from _reply_chunks(completion, reply)
    yield sse("[DONE]")


def _reply_chunks(completion: Completion, reply: Reply) -> Iterator[str]:
    if reply.text:
        yield completion.chunk(reply.text, annotations=reply.annotations)
    yield completion.chunk(None, "stop", **reply.extra)
