"""An OpenAI-compatible API under /v1/: ``POST /v1/chat/completions``, ``POST /v1/completions`` (the legacy
text API, which LlamaIndex's ``OpenAILike`` calls by default) and ``GET /v1/models``.

Any OpenAI client (the ``openai`` SDK, LangChain's ``ChatOpenAI``, chat UIs that take a base URL) can ask
the articles. It is one more surface over :class:`~assistant.core.Assistant`:

    messages ──▶ question (the last user message) + history (earlier user/assistant pairs as Turns)
             ──▶ Assistant.ask / Assistant.stream ──▶ the answer text with its [n] markers
                 + ``annotations`` (url_citation) and ``citations`` (the /api/ask shape): see openai_replies

System (and developer) messages are ignored: a client's own context and instructions may come there (up to
the body limit, ``api_max_json_bytes``), but they never reach the answer stage, so they cannot become
instructions, and they are not part of the history. A question wrapped in a client's prompt template, and a
chat front end's chores (a title, tags…), are recognised as :mod:`.client_prompts` says. Sampling parameters
(``temperature``, ``max_tokens``, …) are accepted and ignored: the server's answer backend decides how answers
are written. ``filters`` (the /api/ask ``filters``) is an extension of the request body.

Keys, origins, rates and body sizes are checked by :mod:`.guard` exactly as for /api/ (widget keys may
call chat completions only); every error, the guard's included, is in OpenAI's shape
``{"error": {"message", "type", "param", "code"}}``, with OpenAI's statuses (an invalid body is 400).

A stream sends only checked text (see :func:`.openai_replies.events`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from starlette.exceptions import HTTPException

from ..core import Assistant
from ..errors import AssistantError, BackendError, CollectionNotFound, InvalidRequest
from ..models import Filters, Turn, is_collection_name
from .api import ANY_METHOD, BEARER, KEY_HEADER, is_reader, key_scope, reader_filters, scoped_collections
from .article_page import base_url
from .client_prompts import front_end_task, question_in, task_reply, transcript
from .openai_replies import MODEL_ID, MODELS, Completion, Reply, events, model_card, reply_events

log = logging.getLogger("assistant.web")

#: Earlier exchanges a request may carry (as /api/ask's ``history``).
MAX_TURNS = 50
IGNORED_ROLES = ("system", "developer")
ROLES = (*IGNORED_ROLES, "user", "assistant")
TEXT_PART_HELP = 'a string or a list of text parts ({"type": "text", "text": "…"})'


OPENAI_ERROR_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
OPENAI_ERROR_CODES = {401: "invalid_api_key", 413: "request_too_large", 429: "rate_limit_exceeded"}


def openai_error_body(status: int, message: str, *, param: str | None = None, code: str | None = None) -> dict:
    """An error as OpenAI's API sends it, e.g. in a stream that has already started."""
    kind = OPENAI_ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code or OPENAI_ERROR_CODES.get(status)}}


def openai_error(status: int, message: str, headers: dict[str, str] | None = None, *,
                 param: str | None = None, code: str | None = None) -> JSONResponse:
    """This door's error shape: its routes answer with it, and the guard refuses its requests with it."""
    return JSONResponse(openai_error_body(status, message, param=param, code=code), status_code=status, headers=headers)


class Failure:
    """An error as this API answers it: ``{"error": {"message", "type", "param", "code"}}`` with ``status``."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None):
        self.status, self.message, self.param, self.code = status, message, param, code

    def body(self) -> dict:
        return openai_error_body(self.status, self.message, param=self.param, code=self.code)

    def response(self) -> JSONResponse:
        return openai_error(self.status, self.message, param=self.param, code=self.code)


class OpenAIRoute(APIRoute):
    """Routes whose every failure (body parsing, the guard's 413 mid-body, Assistant errors, bugs) is an
    OpenAI-shaped error; the app-wide handlers (``{"error": message}``) never see them."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def route(request: Request):
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return _invalid_body(exc, request.headers.get("content-type")).response()
            except HTTPException as exc:  # e.g. the guard's BodyTooLarge, raised while the body streams in
                return openai_error(exc.status_code, str(exc.detail), exc.headers)
            except AssistantError as exc:  # InvalidRequest(field) names the field at fault in ``param``
                return _from_assistant(exc).response()
            except Exception:
                log.exception("%s %s failed", request.method, request.url.path)
                return openai_error(500, "internal server error")

        return route


# Declared so /docs documents the key (and offers "Authorize"); the guard checks it, before the body is read.
def _documented_key(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    header: Annotated[str | None, Security(KEY_HEADER)],
) -> None:
    return None


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str = Field(description="invalid_request_error, authentication_error, permission_error, "
                                  "rate_limit_error or server_error")
    param: str | None = Field(None, description="The request field at fault, e.g. `messages[2].content`.")
    code: str | None = Field(None, description="e.g. model_not_found, invalid_api_key, rate_limit_exceeded")


class OpenAIErrorOut(BaseModel):
    error: OpenAIErrorDetail


ERRORS = {
    status: {"model": OpenAIErrorOut, "description": description}
    for status, description in {
        400: "The body is invalid (bad JSON, an unusable `messages`, a bad `filters`).",
        401: "No key, or an unknown one.",
        403: "The key's role or the request's Origin is not allowed here.",
        404: "No such model.",
        413: "The request body is too large.",
        429: "Too many requests for this key; see Retry-After.",
    }.items()
}

router = APIRouter(
    prefix="/v1", tags=["openai"], route_class=OpenAIRoute, dependencies=[Depends(_documented_key)], responses=ERRORS
)


# --- request ---------------------------------------------------------------------------------

CONTENT_SCHEMA = WithJsonSchema({
    "anyOf": [
        {"type": "string"},
        {"type": "array", "items": {
            "type": "object", "required": ["type", "text"],
            "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
        }},
        {"type": "null"},
    ],
})


PROMPT_SCHEMA = WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})


_MODEL_HELP = ("; ".join(f"`{model}`: {what}" for model, what in MODELS.items())
               + "; either followed by `/COLLECTION` answers from that collection only (GET /v1/models)")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls, … are accepted and ignored

    role: str = Field(description="`user` or `assistant`; `system` and `developer` messages are ignored.")
    # Checked by hand (``_text_of``) so that a wrong content says what is wrong in one line.
    content: Annotated[Any, CONTENT_SCHEMA] = Field(None, description="A string, or a list of text parts.")


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens, stream_options, … are ignored

    model: str = Field(examples=[MODEL_ID], description=_MODEL_HELP)
    messages: list[ChatMessage] = Field(
        description="The conversation, oldest first: the last message is the question (role `user`); earlier "
                    f"user/assistant pairs are its history (at most {MAX_TURNS}); system messages are ignored.",
        examples=[[{"role": "user", "content": "What does JIG stand for?"}]],
    )
    stream: bool = Field(False, description="Send Server-Sent Events chunks, ending with `data: [DONE]`.")
    n: int | None = Field(None, description="Only 1.")
    response_format: dict | None = Field(None, description="Only `{\"type\": \"text\"}`: answers are text.")
    filters: Filters | None = Field(None, description="Extension: restrict retrieval, as in POST /api/ask.")


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # max_tokens, temperature, echo, … are ignored

    model: str = Field(examples=[MODEL_ID], description=_MODEL_HELP)
    # Checked by hand (``_prompt_text``) so that token ids are one line naming `prompt`, not pydantic's union dump.
    prompt: Annotated[Any, PROMPT_SCHEMA] = Field(
        description="The question; or a prompt template holding it (\"Query: …\"), or a chat flattened into "
                    "`user:`/`assistant:` lines ending with `assistant:`. A list holds exactly one prompt.",
        examples=["What does JIG stand for?"],
    )
    stream: bool = Field(False, description="Send Server-Sent Events chunks, ending with `data: [DONE]`.")
    n: int | None = Field(None, description="Only 1.")
    filters: Filters | None = Field(None, description="Extension: restrict retrieval, as in POST /api/ask.")


def _conversation(messages: Sequence[ChatMessage]) -> tuple[str, int, list[Turn]]:
    """(the question, the index of its message, the history) of a chat completion's messages."""
    if not messages:
        raise InvalidRequest("messages", "is empty; send at least one message with role 'user'")
    said: list[tuple[int, str, str]] = []  # (index, role, text) of the user and assistant messages
    for i, message in enumerate(messages):
        if message.role in IGNORED_ROLES:
            continue  # never an instruction, never history
        if message.role not in ROLES:
            why = ("is not supported: this model calls no tools" if message.role in ("tool", "function")
                   else "is not a role")
            raise InvalidRequest(f"messages[{i}].role", f"{message.role!r} {why}; use one of {', '.join(ROLES)}")
        optional = message.role == "assistant"  # e.g. a reply that only made tool calls
        said.append((i, message.role, _text_of(message.content, f"messages[{i}].content", optional=optional)))
    if not said:
        raise InvalidRequest("messages", "has no message with role 'user' (system messages are ignored)")
    index, role, question = said[-1]
    if role != "user":
        raise InvalidRequest(
            "messages", f"the last message must be the question, with role 'user'; messages[{index}] has role {role!r}"
        )
    pairs: list[list[str | None]] = []  # [question, answer] of each earlier exchange
    for _, role, text in said[:-1]:
        if role == "user":  # a client that wraps each message in its template wraps the earlier ones too
            pairs.append([question_in(text), None])
        elif pairs and pairs[-1][1] is None:
            pairs[-1][1] = text
        elif pairs:  # two replies in a row: one answer
            pairs[-1][1] = f"{pairs[-1][1]}\n{text}"
        # a reply before any question (a greeting) is no exchange
    if len(pairs) > MAX_TURNS:
        raise InvalidRequest(
            "messages", f"holds {len(pairs):,} earlier exchanges; the limit is {MAX_TURNS}: send the most recent ones"
        )
    return question, index, [Turn(question=q, answer=a or "") for q, a in pairs]


def _check_tool_choice(extra: dict[str, Any]) -> None:
    """``tools`` are ignored, as a client may send them with every request; a request that must get a tool call
    (``tool_choice`` "required" or naming a function, or the older ``function_call`` naming one) is refused: a
    text answer would reach it as "no tool was called" (LangChain's structured output returns None)."""
    for param in ("tool_choice", "function_call"):
        choice = extra.get(param)
        if choice == "required" or isinstance(choice, dict):
            shown = repr(choice) if isinstance(choice, str) else "a function"
            raise InvalidRequest(param, f"{shown} cannot be honoured: this model calls no tools, it answers in text "
                                        "with citations; leave it out, or use 'auto' or 'none'")


def _text_of(content: Any, param: str, *, optional: bool = False) -> str:
    """A message's text: a string, or OpenAI's list of content parts of which only text parts are accepted."""
    if isinstance(content, str):
        return content
    if content is None and optional:
        return ""
    if isinstance(content, list):
        texts = []
        for j, part in enumerate(content):
            where = f"{param}[{j}]"
            if not isinstance(part, dict):
                raise InvalidRequest(where, f'must be a content part like {{"type": "text", "text": "…"}}; '
                                                 f"got {_json_type(part)}")
            if part.get("type") != "text":
                kind = part.get("type")
                raise InvalidRequest(where, f"only text parts are supported; got a part of type {kind!r}")
            if not isinstance(part.get("text"), str):
                raise InvalidRequest(f"{where}.text", f"must be a string; got {_json_type(part.get('text'))}")
            texts.append(part["text"])
        return "\n".join(texts)
    raise InvalidRequest(param, f"must be {TEXT_PART_HELP}; got {_json_type(content)}")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else type(value).__name__


def _param(loc: Sequence[str | int]) -> str | None:
    """("body", "messages", 3, "content") → "messages[3].content"."""
    path = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or None


def _invalid_body(exc: RequestValidationError, content_type: str | None) -> Failure:
    problems = exc.errors()
    first = problems[0] if problems else {"type": "", "loc": ()}
    if first["type"] == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", "JSON decode error")
        return Failure(400, f"the body is not valid JSON: {detail} (at character {first['loc'][-1]})")
    if tuple(first["loc"]) == ("body",) and "json" not in (content_type or "").lower():
        return Failure(400, "the body must be a JSON object sent with 'Content-Type: application/json' "
                                f"(this request's Content-Type is {content_type or 'missing'})")
    messages, params = [], []
    for problem in problems:
        param = _param(problem["loc"])
        params.append(param)
        messages.append(f"{param}: {problem['msg']}" if param else f"the body: {problem['msg']}")
    return Failure(400, "; ".join(messages), param=params[0] if params else None)


def _from_assistant(exc: AssistantError, question_param: str = "messages") -> Failure:
    """An Assistant error in OpenAI's terms: what /api/ calls ``question`` is the last message's content here."""
    status = 400 if exc.status_code == 422 else exc.status_code  # OpenAI answers an invalid request with 400
    if isinstance(exc, InvalidRequest):
        param = question_param if exc.field == "question" else exc.field
        return Failure(status, f"{param}: {exc.reason}", param=param)
    return Failure(status, str(exc), param=getattr(exc, "field", None))  # e.g. filters.collections naming none


# --- routes ------------------------------------------------------------------------------------

def get_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


def _reply_maker(request: Request, model: str):
    """How this request's answers become replies: readers see what readers see, links start at its base URL."""
    links, reader = request.app.state.article_links, is_reader(request)
    base = base_url(request, request.app.state.assistant.settings)
    return lambda answer: Reply.of(answer, model=model, reader=reader, link_of=lambda c: links.url(base, c))


def _answer(assistant: Assistant, completion: Completion, request: Request, question: str, history: list[Turn],
            filters: Filters | None, stream: bool, question_param: str):
    """The answer to ``question`` as a completion (or its stream); a front end's chore is answered as one."""
    try:  # the model's collection and the filters' within the key's: 403 or 404 before anything else
        filters = _model_filters(assistant, request, completion.model, filters)
    except CollectionNotFound:
        if "/" in completion.model:
            return _no_such_model(completion.model).response()
        raise
    task = front_end_task(question)
    if task is not None:  # a title, tags, follow-ups…: never an article question
        reply = Reply.chore(task_reply(task))
        return StreamingResponse(reply_events(completion, reply), media_type="text/event-stream",
                                 headers=SSE_HEADERS) if stream else completion.whole(reply)
    question = question_in(question)
    limit = assistant.settings.max_question_chars
    if len(question) > limit:  # most often a client's context sent as the question: say where it belongs
        where = ("send your own context and instructions in a system message instead (up to the body limit)"
                 if question_param.startswith("messages") else  # the legacy API has no system messages
                 "send the question alone, or send your context in a system message to /v1/chat/completions")
        raise InvalidRequest(question_param, f"is {len(question):,} characters; the limit for the question is "
                                             f"{limit:,}: {where}")
    reader_filters(request, filters)
    make_reply = _reply_maker(request, completion.model)
    try:
        if not stream:
            return completion.whole(make_reply(assistant.ask(question, history, filters)))
        pieces = assistant.stream(question, history, filters)
        # The first piece comes once the question is checked and the passages found: a bad question or
        # filter is still an HTTP error here, not an event in a stream that already said 200.
        first = next(pieces, None)
    except AssistantError as exc:
        return _from_assistant(exc, question_param).response()
    if first is None:
        raise BackendError("the answer backend's stream ended without an answer")
    return StreamingResponse(
        events(completion, first, pieces, make_reply, stream_error), media_type="text/event-stream", headers=SSE_HEADERS,
    )


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _model_filters(assistant: Assistant, request: Request, model: str, filters: Filters | None) -> Filters:
    """The filters of a request to ``model``: its collection (``article-assistant/NAME``), within the key's."""
    _, _, collection = model.partition("/")
    if collection:
        filters = filters or Filters()
        if filters.collections and filters.collections != (collection,):
            raise InvalidRequest("filters.collections", f"the model {model!r} answers from {collection!r} only; "
                                                        "leave filters.collections out, or use the plain model")
        filters = filters.model_copy(update={"collections": (collection,)})
    return assistant.scoped(filters, key_scope(request), field="model" if collection else "filters.collections")


def _check_model(model: str) -> Failure | None:
    """A failure for a model id this server has not (its collection is checked when it is asked)."""
    base, slash, collection = model.partition("/")
    if base not in MODELS or (slash and not is_collection_name(collection)):
        return _no_such_model(model)
    return None




def stream_error(exc: AssistantError | None) -> dict:
    """A failure after the stream started (None: a bug), as the in-band error event's body."""
    return _from_assistant(exc).body() if exc else openai_error_body(500, "internal server error")


@router.post(
    "/chat/completions",
    summary="Chat completions (OpenAI-compatible)",
    responses={200: {
        "description": "A `chat.completion` object: the message's `annotations` hold a `url_citation` per [n], "
                       "and top-level `citations` (the /api/ask shape) and `refused` travel beside `choices`; "
                       "with `stream: true`, `chat.completion.chunk` events (the text's delta carries its "
                       "`annotations`, the last chunk `citations`), then `data: [DONE]`.",
        "content": {"application/json": {}, "text/event-stream": {}},
    }},
)
def chat_completions(
    body: ChatCompletionRequest, request: Request, assistant: Annotated[Assistant, Depends(get_assistant)]
):
    """Answer the last user message from the articles (admin or widget key), in OpenAI's format.

    Earlier user/assistant messages are the conversation (follow-ups like "Did he deny the report?" resolve);
    system messages are ignored. The answer keeps its `[n]` markers; `annotations` and `citations` say what
    they point to.
    """
    if _check_model(body.model):
        return _check_model(body.model).response()
    if body.n not in (None, 1):
        raise InvalidRequest("n", f"only 1 is supported (one answer per question); got {body.n}")
    if body.response_format is not None and "type" not in body.response_format:
        raise InvalidRequest("response_format", 'has no type; only {"type": "text"} is supported')
    if body.response_format is not None and body.response_format["type"] != "text":
        kind = body.response_format["type"]
        raise InvalidRequest("response_format", f"{kind!r} is not supported: this model answers in text with "
                                                "citations (use the `citations` field for structured passages)")
    _check_tool_choice(body.model_extra or {})
    question, index, history = _conversation(body.messages)
    return _answer(assistant, Completion(body.model), request, question, history, body.filters, body.stream,
                   f"messages[{index}].content")


@router.post(
    "/completions",
    summary="Text completions (OpenAI's legacy API)",
    responses={200: {
        "description": "A `text_completion` object with top-level `citations` and `refused`; with `stream: true`, "
                       "`text_completion` chunks, the last with `citations`, then `data: [DONE]`.",
        "content": {"application/json": {}, "text/event-stream": {}},
    }},
)
def completions(body: CompletionRequest, request: Request, assistant: Annotated[Assistant, Depends(get_assistant)]):
    """Answer the prompt from the articles (admin key), as OpenAI's legacy completions API does.

    For clients that call it by default (LlamaIndex's `OpenAILike`). The prompt is the question, or holds it.
    """
    if _check_model(body.model):
        return _check_model(body.model).response()
    if body.n not in (None, 1):
        raise InvalidRequest("n", f"only 1 is supported (one answer per prompt); got {body.n}")
    prompt = _prompt_text(body.prompt)
    question, history = transcript(prompt) or (prompt, [])
    return _answer(assistant, Completion(body.model, "text"), request, question, history, body.filters,
                   body.stream, "prompt")


def _prompt_text(prompt: Any) -> str:
    """The one prompt of a completion request: a string, or a list holding one (token ids are refused)."""
    if isinstance(prompt, list) and prompt and all(isinstance(p, int) or isinstance(p, list) for p in prompt):
        raise InvalidRequest("prompt", "token ids are not supported; send text")
    if isinstance(prompt, list):
        if len(prompt) != 1:
            raise InvalidRequest("prompt", f"holds {len(prompt)} prompts; send exactly one")
        if not isinstance(prompt[0], str):
            raise InvalidRequest("prompt[0]", f"must be a string; got {_json_type(prompt[0])}")
        return prompt[0]
    if not isinstance(prompt, str):
        raise InvalidRequest("prompt", f"must be a string or a list of one string; got {_json_type(prompt)}")
    return prompt


def _models(assistant: Assistant, request: Request) -> list[str]:
    """The models this request's key may use: each plain one (every collection it may use), and one per
    collection it may use (unless the index has no collection but ``default``)."""
    allowed = scoped_collections(assistant, request, None)
    names = [c.name for c in assistant.collections(allowed)]
    if allowed is None and len(names) == 1:  # an index that has only `default`: the plain models say it all
        names = []
    return [*MODELS, *(f"{model}/{name}" for model in MODELS for name in names)]


@router.get("/models", summary="The models (OpenAI-compatible)")
def list_models(request: Request, assistant: Annotated[Assistant, Depends(get_assistant)]) -> dict:
    """The models: `article-assistant`, and `article-assistant-sources` whose text ends with its Sources; each
    also as `MODEL/COLLECTION` for every collection the key may use (answering from that collection only)."""
    return {"object": "list", "data": [model_card(model) for model in _models(assistant, request)]}


@router.get("/models/{model:path}", summary="One model (OpenAI-compatible)")
def get_model(model: str, request: Request, assistant: Annotated[Assistant, Depends(get_assistant)]) -> dict:
    """The model called `model`, or 404 (admin key)."""
    # Any id chat completions take: `MODEL/default` too, which the list leaves out when it is the only collection.
    _, _, collection = model.partition("/")
    if _check_model(model) or (collection and collection not in {
            c.name for c in assistant.collections(scoped_collections(assistant, request, None))}):
        return _no_such_model(model).response()
    return model_card(model)


def _no_such_model(model: str) -> Failure:
    return Failure(404, f"The model {model!r} does not exist; this server's models are "
                        f"{', '.join(map(repr, MODELS))}, each also as MODEL/COLLECTION for a collection the key may "
                        "use (GET /v1/models)", param="model", code="model_not_found")


ROUTES = {"/v1/chat/completions": "POST", "/v1/completions": "POST", "/v1/models": "GET"}


@router.api_route("", methods=ANY_METHOD, include_in_schema=False)
@router.api_route("/{rest:path}", methods=ANY_METHOD, include_in_schema=False)
def unknown_route(request: Request, rest: str = ""):
    """Any other /v1/ URL: OpenAI's 404 (or 405), not the chat page's."""
    path = "/v1/" + rest
    if ROUTES.get(path) and ROUTES[path] != request.method:
        allowed = "GET, HEAD" if ROUTES[path] == "GET" else ROUTES[path]  # HEAD arrives as GET (app.HeadLikeGet)
        asked = request.scope.get("asked_method", request.method)
        return openai_error(405, f"{path} takes {ROUTES[path]}, not {asked}", {"Allow": allowed})
    offered = ", ".join(f"{method} {route}" for route, method in ROUTES.items())
    return Failure(404, f"no such route: {request.method} {path}; this server offers {offered}",
                   code="unknown_url").response()
