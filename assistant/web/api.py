"""The HTTP API under /api/: ask (JSON or Server-Sent Events) and manage the articles.

Keys, origins, rates and body sizes are checked by :mod:`.guard` before any of
this runs. The endpoints are plain ``def`` so FastAPI runs the blocking
Assistant calls in its threadpool (and iterates the streaming generator there).
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUploadFile
from starlette.exceptions import HTTPException

from ..core import Assistant
from ..errors import (
    ArticleNotFound,
    AssistantError,
    CollectionConflict,
    ConversationNotFound,
    InvalidRequest,
    JobNotFound,
    OverBudget,
    StoreError,
    UnsupportedMediaType,
)
from ..models import (
    Answer,
    ArticleInfo,
    CollectionInfo,
    FeedInfo,
    Filters,
    display_source,
    page_link,
    parse_every,
)
from ..store import Conversation, ConversationInfo, Feedback
from .guard import error, is_anonymous, refusal, site_of
from .schemas import (
    MAX_HISTORY,
    ArticleRemoved,
    ArticleText,
    AskRequest,
    CollectionIn,
    CollectionRemoved,
    ErrorOut,
    FeedbackIn,
    FeedbackOut,
    FeedRemoved,
    IngestReportOut,
    JobOut,
    Removed,
)
from .scope import collections_for, ingest_collection, unscoped_only
from .uploads import IngestJobs, new_upload_folder

log = logging.getLogger("assistant.web")


NOT_KEPT = "The server could not keep this answer, so it cannot be rated."
BEARER = HTTPBearer(auto_error=False, description="An admin or widget key.")
KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="Or send the key in this header.")


# Declared so /docs documents the key (and offers "Authorize"); the guard (guard.py) checks it, before the body is read.
def _documented_key(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    header: Annotated[str | None, Security(KEY_HEADER)],
) -> None:
    return None


ERRORS = {
    status: {"model": ErrorOut, "description": description}
    for status, description in {
        400: "A key was sent in the URL (send it in a header).",
        401: "No key, or an unknown one.",
        404: "No such article, answer (for this key), job, collection or feed.",
        403: "The key's role, its collections or the request's Origin do not allow this.",
        409: "A collection name is taken, or a collection with articles is removed without force.",
        413: "The request body is too large.",
        415: "A body that is not JSON (or, for uploads, multipart).",
        422: "The body or the question is invalid.",
        429: "Too many requests from this client (for an admin key: with this key); see Retry-After.",
        503: "The index or the database cannot be used now.",
    }.items()
}

router = APIRouter(prefix="/api", dependencies=[Depends(_documented_key)], responses=ERRORS)


def media_type(request: Request) -> str:
    """The body's media type, lower-cased without its parameters (``Application/JSON; charset=utf-8``)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_json(media: str) -> bool:
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def json_body(request: Request) -> None:
    """A body must say it is JSON: a browser sends ``text/plain`` (or no type) across sites without asking the
    server first, and a request the server would take in that shape could be sent by any page."""
    has_body = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
    if has_body and not is_json(media_type(request)):
        raise UnsupportedMediaType("send the body as JSON, with 'Content-Type: application/json'")


JSON_BODY = [Depends(json_body)]


def get_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


AssistantDep = Annotated[Assistant, Depends(get_assistant)]


def is_reader(request: Request) -> bool:
    """A widget key's caller: sees sources as readers do (the guard records the key's role)."""
    return request.scope.get("state", {}).get("key_role") != "admin"


def key_scope(request: Request) -> tuple[str, ...] | None:
    """The collections the request's key is scoped to, as the guard recorded them (None: every one)."""
    return request.scope.get("state", {}).get("key_scope")


def scoped_filters(assistant: Assistant, request: Request, filters: Filters | None) -> Filters:
    """The request's filters within the key's collections (OutOfScope 403, CollectionNotFound 404)."""
    return assistant.scoped(filters, key_scope(request))


def scoped_collections(assistant: Assistant, request: Request, named: str | None,
                       field: str = "collection") -> tuple[str, ...] | None:
    """The collections a listing, a read or a removal is about (see scope.py)."""
    return collections_for(assistant, key_scope(request), named, field)


def caller(request: Request) -> str:
    """Whose answers and feedback these are: the key (and a widget key's site), as the guard recorded it."""
    return request.scope.get("state", {}).get("key_owner", "key:unknown")


def conversation_owner(request: Request, conversation_id: str | None = None) -> str:
    """The caller, for reading or keeping a conversation: never a widget caller without a visitor token, who
    shares its owner with every such caller on the site (a 404 naming the id, as for anyone else's conversation)."""
    owner = caller(request)
    if is_anonymous(owner):
        raise ConversationNotFound(conversation_id or request.path_params.get("conversation_id", ""))
    return owner


def kept(assistant: Assistant, request: Request, body: AskRequest, answer: Answer) -> Answer:
    """The answer, kept for feedback (it gets its id), in the shape this caller may see."""
    try:
        anonymous = is_anonymous(caller(request))  # kept for feedback, in no conversation
        answer = assistant.store.conversations.add_answer(
            caller(request), body.question, answer, history=body.history, filters=body.filters,
            conversation_id=None if anonymous else body.conversation_id,
        ).answer
    except StoreError as exc:  # the answer still goes out; only rating it is lost
        log.warning("%s", exc)
        answer = answer.model_copy(update={"notice": NOT_KEPT})
    return answer.for_reader() if is_reader(request) else answer


@router.post("/ask", tags=["ask"], response_model_exclude_none=True, dependencies=JSON_BODY)
def ask(body: AskRequest, assistant: AssistantDep, request: Request) -> Answer:
    """Answer a question from the articles, with citations (admin or widget key). The answer's `id` is what
    POST /api/feedback rates. A key scoped to collections is answered from those only."""
    body = checked(assistant, request, body)
    return kept(assistant, request, body, assistant.ask(body.question, body.history, body.filters))


def checked(assistant: Assistant, request: Request, body: AskRequest) -> AskRequest:
    """The request with its filters within the key's collections (403, 404 before any work); a conversation
    named by the request is the caller's, or a 404; a widget key's filters name no server path."""
    reader_filters(request, body.filters)
    update: dict = {"filters": scoped_filters(assistant, request, body.filters)}
    if body.conversation_id not in (None, "new"):
        owner = conversation_owner(request, body.conversation_id)
        conversation = assistant.store.conversations.conversation(owner, body.conversation_id)
        if not body.history:  # the server's copy is the conversation: a client need not send its turns again
            update["history"] = [turn.turn() for turn in conversation.turns][-MAX_HISTORY:]
    return body.model_copy(update=update)


def checked_body(body: AskRequest, assistant: AssistantDep, request: Request) -> AskRequest:
    """As a dependency it runs before the stream starts, so a refusal is a plain 403, 404 or 422, not an event."""
    body = checked(assistant, request, body)
    assistant.validate_request(body.question, body.filters)
    return body


@router.post("/ask/stream", tags=["ask"], response_class=EventSourceResponse, dependencies=JSON_BODY)
def ask_stream(body: Annotated[AskRequest, Depends(checked_body)], assistant: AssistantDep,
               request: Request) -> Iterator[ServerSentEvent]:
    """The answer as Server-Sent Events (admin or widget key).

    `token` events (`{"text": piece}`) as the answer is produced, then one `answer`
    event with the checked answer and its citations (the shape of POST /api/ask),
    then `done`. A failure ends the stream with an `error` event (`{"error", "status"}`).
    """
    reader = is_reader(request)
    try:
        for piece in assistant.stream(body.question, body.history, body.filters):
            if isinstance(piece, Answer):
                yield ServerSentEvent(event="answer", data=kept(assistant, request, body, piece).public(reader=reader))
            else:
                yield ServerSentEvent(event="token", data={"text": piece})
    except AssistantError as exc:
        yield ServerSentEvent(event="error", data={"error": str(exc), "status": exc.status_code})
        return
    except Exception:  # the response has started: report in-band, never with a traceback
        log.exception("streaming an answer failed")
        yield ServerSentEvent(event="error", data={"error": "internal server error", "status": 500})
        return
    yield ServerSentEvent(event="done", data={})


CollectionQuery = Annotated[str | None, Query(description="Only this collection (one the key may use).")]


TOTAL_COUNT = {"X-Total-Count": {"description": "How many there are in all (`limit` and `offset` aside).",
                                  "schema": {"type": "integer"}}}


@router.get("/articles", tags=["articles"], responses={200: {"headers": TOTAL_COUNT}})
def list_articles(
    assistant: AssistantDep, request: Request, response: Response, collection: CollectionQuery = None,
    limit: Annotated[int | None, Query(ge=1, description="At most this many (default: every one).")] = None,
    offset: Annotated[int, Query(ge=0, description="Skip this many first: the next page.")] = 0,
) -> list[ArticleInfo]:
    """Every indexed article (admin key), or those of one collection, in title order; `limit` and `offset` page
    through them, and the `X-Total-Count` header says how many there are. A scoped key lists its collections'
    only, and sees only those among each article's `collections`."""
    scope = scoped_collections(assistant, request, collection)
    every = assistant.articles(scope)
    response.headers["X-Total-Count"] = str(len(every))
    articles = every[offset : offset + limit if limit is not None else None]  # FastAPI serialises the dataclass
    if key_scope(request) is not None:  # other collections an article is in are not this key's business
        allowed = set(key_scope(request))
        articles = [replace(a, collections=tuple(c for c in a.collections if c in allowed)) for a in articles]
    return articles


@router.get("/articles/{article_id}", tags=["articles"])  # url and published null when unknown, as in the list
def read_article(article_id: str, assistant: AssistantDep, request: Request,
                 collection: CollectionQuery = None) -> ArticleText:
    """One article's whole cleaned text, which citations' `start`/`end` point into (admin key; a widget key reads
    the articles cited in answers given on its site). A scoped key reads its collections' articles only."""
    if is_reader(request) and not assistant.store.conversations.cited(site_of(caller(request)), article_id):
        raise ArticleNotFound(article_id)  # the same 404 as a missing one: ids are not to be probed
    article = assistant.article(article_id, scoped_collections(assistant, request, collection))
    return ArticleText.of(article, reader=is_reader(request))


# --- collections -------------------------------------------------------------------------------------

@router.get("/collections", tags=["collections"])
def list_collections(assistant: AssistantDep, request: Request,
                     collection: CollectionQuery = None) -> list[CollectionInfo]:
    """The collections (admin key) with their article and chunk counts; a scoped key sees its own only."""
    return assistant.collections(scoped_collections(assistant, request, collection))


@router.post("/collections", tags=["collections"], status_code=201, dependencies=JSON_BODY)
def create_collection(body: CollectionIn, assistant: AssistantDep, request: Request) -> CollectionInfo:
    """Create an empty collection (an admin key for every collection). 409 when the name is taken."""
    unscoped_only(key_scope(request), "creating a collection")
    return assistant.create_collection(body.name)


@router.patch("/collections/{name}", tags=["collections"], dependencies=JSON_BODY)
def rename_collection(name: str, body: CollectionIn, assistant: AssistantDep, request: Request) -> CollectionInfo:
    """Rename a collection to `name` (an admin key for every collection); keys and feeds naming the old name
    must be changed too."""
    unscoped_only(key_scope(request), "renaming a collection")
    return assistant.rename_collection(name, body.name, field="name")


@router.delete("/collections/{name}", tags=["collections"])
def remove_collection(
    name: str, assistant: AssistantDep, request: Request,
    force: Annotated[bool, Query(description="Remove it although it holds articles: those in no other "
                                             "collection leave the index.")] = False,
) -> CollectionRemoved:
    """Remove a collection (an admin key for every collection). One that holds articles needs `force=true`
    (409 otherwise); the answer says which articles left the index and which stay in another collection."""
    unscoped_only(key_scope(request), "removing a collection")
    removed, kept_ = assistant.remove_collection(name, force=force)
    return CollectionRemoved(removed=name, articles_removed=removed, articles_kept=kept_)


def reader_filters(request: Request, filters: Filters | None) -> None:
    """A widget key sees no server paths, so it may not name one either: a source it filters by is a link or an
    upload, and the answer never depends on what else this server holds."""
    if filters is not None and is_reader(request):
        for i, source in enumerate(filters.sources):
            if display_source(source) != source:
                raise InvalidRequest(f"filters.sources[{i}]", "a widget key filters by links, uploads, urls or "
                                                              "article_ids, never by a path on the server")


@router.post("/feedback", tags=["feedback"], status_code=201, dependencies=JSON_BODY,
             responses={200: {"model": FeedbackOut, "description": "An earlier rating of this answer, replaced"}})
def give_feedback(body: FeedbackIn, assistant: AssistantDep, request: Request, response: Response) -> FeedbackOut:
    """Rate an answer this key was given (admin or widget key): thumbs `up` or `down`, and an optional comment.
    Rating an answer again replaces the rating (`200`, where the first is `201`). Kept with the question, history,
    answer, citations and settings; `assistant feedback export` turns them into eval questions."""
    given = assistant.store.feedback.give(caller(request), body.answer_id, body.rating, body.comment)
    if given.updated_at != given.created_at:
        response.status_code = 200  # nothing new was created: the record this caller gave before was changed
    return FeedbackOut(id=given.id, answer_id=given.answer_id, rating=given.rating)


@router.get("/feedback", tags=["feedback"])
def list_feedback(
    assistant: AssistantDep,
    request: Request,
    rating: Annotated[Literal["up", "down"] | None, Query(description="Only thumbs up, or down.")] = None,
) -> list[Feedback]:
    """Every feedback record, oldest first (admin key: widget keys may send feedback, not read it). A key scoped to
    collections reads the records of answers that cite its collections' articles only, without their history."""
    records = assistant.store.feedback.all(rating)
    scope = scoped_collections(assistant, request, None)
    if scope is None:
        return records
    mine = {a.id for a in assistant.articles(scope)}
    # The earlier turns a record was asked after may be about any collection's articles: a scoped key gets none.
    return [r.model_copy(update={"history": []}) for r in records
            if r.answer.citations and all(c.article_id in mine for c in r.answer.citations)]


@router.get("/conversations", tags=["conversations"])
def list_conversations(assistant: AssistantDep, request: Request) -> list[ConversationInfo]:
    """This caller's conversations, most recent first: the key's, or for a widget key this site's and this visitor's
    (the widget sends `X-Assistant-Visitor`; without one, none are kept)."""
    owner = caller(request)
    return [] if is_anonymous(owner) else assistant.store.conversations.conversations(owner)


@router.get("/conversations/{conversation_id}", tags=["conversations"], response_model_exclude_none=True)
def get_conversation(conversation_id: str, assistant: AssistantDep, request: Request) -> Conversation:
    """One of this caller's conversations, every question and answer with its citations (another's is a 404)."""
    conversation = assistant.store.conversations.conversation(conversation_owner(request), conversation_id)
    if is_reader(request):
        for turn in conversation.turns:
            turn.answer = turn.answer.for_reader()
    return conversation


@router.delete("/conversations/{conversation_id}", tags=["conversations"])
def delete_conversation(conversation_id: str, assistant: AssistantDep, request: Request) -> Removed:
    """Delete one of this caller's conversations (feedback given on its answers is kept)."""
    assistant.store.conversations.delete(conversation_owner(request), conversation_id)
    return Removed(removed=conversation_id)


# --- feeds ---------------------------------------------------------------------------------------------

class FeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="The RSS or Atom feed's link.", examples=["https://www.example.com/news.rss"])
    collection: str | None = Field(None, description="Where its items go (default: `default`; a key scoped to one "
                                                     "collection: that one).")
    every: str = Field("30m", description="How often it is polled: 30m, 1h, 1h30m, 45s (at least feed_min_every_s).")
    prune: bool = Field(False, description="Take items that leave the feed out of the collection (default: kept).")


@router.get("/feeds", tags=["feeds"])
def list_feeds(assistant: AssistantDep, request: Request, collection: CollectionQuery = None) -> list[FeedInfo]:
    """The feeds the server follows (admin key), each with what its last poll did and its error; a scoped key
    sees its collections' only."""
    return assistant.feeds.list(scoped_collections(assistant, request, collection))


@router.post("/feeds", tags=["feeds"], status_code=201, dependencies=JSON_BODY)
def add_feed(body: FeedIn, assistant: AssistantDep, request: Request) -> FeedInfo:
    """Follow a feed (admin key): the server polls it every `every`, first at its next look (`feed_poll_s`), with
    conditional requests; new and changed items land in `collection`, each fetched as any link is, or read from
    the feed's own full text."""
    into = ingest_collection(assistant, key_scope(request), body.collection) or "default"
    return assistant.feeds.add(body.url, into, parse_every(body.every), prune=body.prune)


@router.post("/feeds/{feed_id}/poll", tags=["feeds"])
def poll_feed(feed_id: int, assistant: AssistantDep, request: Request) -> FeedInfo:
    """Poll a feed now (admin key), whatever its schedule; 409 while another replica polls it."""
    assistant.feeds.state(feed_id, scoped_collections(assistant, request, None))
    polled = assistant.poll_feed(feed_id, force=True)
    if polled is None:
        raise CollectionConflict(f"feed {feed_id} is being polled by another replica; try again shortly")
    return polled


@router.delete("/feeds/{feed_id}", tags=["feeds"])
def remove_feed(feed_id: int, assistant: AssistantDep, request: Request) -> FeedRemoved:
    """Stop following a feed (admin key); the articles it brought stay."""
    assistant.feeds.remove(feed_id, scoped_collections(assistant, request, None))
    return FeedRemoved(removed=feed_id)


class LinksIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(min_length=1, description="Links to fetch and ingest (http or https).")
    collection: str | None = Field(None, description="The collection they go in (as ?collection=).")


# Documented by hand: the body is multipart files or JSON links, and FastAPI declares one body per route.
ADD_ARTICLES_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": {
                "type": "object", "required": ["files"],
                "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"},
                                         "description": "Articles: .txt .md .html .pdf"},
                               "collection": {"type": "string", "description": "The collection they go in."}},
            }},
            "application/json": {"schema": LinksIn.model_json_schema()},
        },
    }
}


@router.post("/articles", tags=["articles"], status_code=202, responses={200: {"model": IngestReportOut}},
             openapi_extra=ADD_ARTICLES_BODY, response_model_exclude_none=True)
async def add_articles(
    assistant: AssistantDep,
    request: Request,
    wait: Annotated[bool, Query(description="Answer when the ingest is done (200 and its report), not at once.")] = False,
    collection: Annotated[str | None, Query(description="The collection the articles go in (default: a new "
                                                        "article goes in `default`, a known one stays where it is; "
                                                        "a key scoped to one collection: that one).")] = None,
) -> JobOut:
    """Ingest uploaded files, or the pages at some links, as a background job (admin key): 202 and the job to
    poll at `status_url`.

    Multipart `files`, or JSON `{"urls": [...]}` (fetched politely: timeouts, size cap, robots.txt; private
    addresses refused unless `fetch_allow_hosts` names them). Files or links that fail are listed in the
    report's `failed`; the others still land. One request holds at most `ingest_max_files` files or links and
    `api_max_upload_bytes` bytes, and may add at most `ingest_max_chunks` chunks. `collection` (the query, the
    JSON body's field or a form field) names where they go; a scoped key may name its own collections only.
    """
    limit = assistant.settings.ingest_max_files
    media = media_type(request)
    if not is_json(media) and media != "multipart/form-data":
        raise UnsupportedMediaType('send multipart "files", or JSON {"urls": [...]} with \'Content-Type: application/json\'')
    if is_json(media):
        try:
            links = LinksIn.model_validate_json(await request.body())
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidRequest(".".join(map(str, first["loc"])) or "body", first["msg"]) from None
        if len(links.urls) > limit:
            raise OverBudget("urls", f"{len(links.urls)} links in one request; the limit is {limit} (ingest_max_files)")
        parsed = [page_link(url, f"urls[{i}]") for i, url in enumerate(links.urls)]  # links only, never paths
        if links.collection is not None and collection is not None and links.collection != collection:
            raise InvalidRequest("collection", "the query and the body name different collections")
        into = await run_in_threadpool(ingest_collection, assistant, key_scope(request),
                                    collection if links.collection is None else links.collection)
        job = request.app.state.jobs.submit_links(parsed, collection=into)
        return await _answer_job(request, job, wait)
    try:
        form = await request.form(max_files=limit + 1)
    except HTTPException as exc:  # the parser stops at limit + 1 files: say so as for limit + 1
        if "Too many files" not in str(exc.detail):  # a body that is no multipart: an invalid body, as bad JSON is
            raise InvalidRequest("body", f"not valid multipart ({exc.detail.rstrip('.')})") from None
        raise OverBudget("files", f"more than {limit} files in one upload; the limit is {limit} (ingest_max_files)") from None
    files = [f for f in form.getlist("files") if isinstance(f, StarletteUploadFile)]
    if not files:
        raise InvalidRequest("files", 'send multipart "files", or JSON {"urls": [...]}')
    if len(files) > limit:
        raise OverBudget("files", f"{len(files)} files in one upload; the limit is {limit} (ingest_max_files)")
    named = form.get("collection")
    if named is not None and not isinstance(named, str):
        raise InvalidRequest("collection", "must be a form field, not a file")
    if named is not None and collection is not None and named != collection:
        raise InvalidRequest("collection", "the query and the form name different collections")
    into = await run_in_threadpool(ingest_collection, assistant, key_scope(request),
                                    collection if named is None else named)
    stored = await run_in_threadpool(_store_uploads, files)
    if isinstance(stored, JSONResponse):
        return stored
    folder, names = stored
    sources = {path: f"upload:{name}" for path, name in names.items()}
    job = request.app.state.jobs.submit(folder, names, sources, collection=into)
    return await _answer_job(request, job, wait)


async def _answer_job(request: Request, job, wait: bool):
    """202 and the job; with ``wait``, the job's report (or its error) once it is done."""
    jobs: IngestJobs = request.app.state.jobs
    if wait:
        job = await run_in_threadpool(jobs.wait, job, 3600)
        if job.status == "failed":
            return error(job.error_status, job.error or "ingest failed")
        if job.report is not None:
            return JSONResponse(IngestReportOut.of(job.report, job.names).model_dump(), status_code=200)
    answer = JobOut.of(job.record())
    # As GET /api/jobs/{id} answers it (no null report or error yet), and where to ask (RFC 9110 §15.3.3).
    return JSONResponse(answer.model_dump(mode="json", exclude_none=True), status_code=202,
                        headers={"Location": answer.status_url})


def _store_uploads(files: list[StarletteUploadFile]) -> tuple[Path, dict[str, str]] | JSONResponse:
    """The uploads copied into a folder of their own: (folder, temp path -> uploaded name)."""
    folder = new_upload_folder()
    names: dict[str, str] = {}
    try:
        for i, upload in enumerate(files):
            name = _safe_name(upload.filename)
            path = folder / str(i) / name  # one folder per file: two uploads may share a name
            path.parent.mkdir()
            with path.open("wb") as out:
                shutil.copyfileobj(upload.file, out)
            names[str(path)] = name
    except OSError as exc:  # e.g. the temp disk is full: nothing was ingested
        shutil.rmtree(folder, ignore_errors=True)
        return error(507, f"could not store the upload on the server: {exc.strerror}; nothing was ingested")
    return folder, names


@router.get("/jobs/{job_id}", tags=["articles"], response_model_exclude_none=True)
def upload_job(job_id: str, request: Request) -> JobOut:
    """An upload job's progress, and its report once done (admin key); any replica answers for any job. A key
    scoped to collections sees only jobs that add to one of them: another's is a 404, as a missing one. A job that
    named no collection is an unscoped key's (its articles may stay in any collection): unscoped keys see it."""
    job = request.app.state.jobs.get(job_id)
    scope = key_scope(request)
    if scope is not None and (job.collection is None or job.collection not in
                              (collections_for(request.app.state.assistant, scope, None) or ())):
        raise JobNotFound(job_id)  # of the scope's collections that exist now: never one renamed away
    return JobOut.of(job)


@router.delete("/articles/{article_id}", tags=["articles"], response_model_exclude_none=True)
def remove_article(article_id: str, assistant: AssistantDep, request: Request,
                   collection: CollectionQuery = None) -> ArticleRemoved:
    """Remove an article and its vectors (admin key). With `collection`, or with a key scoped to collections, it
    is taken out of those only: it stays in the index while another collection holds it (`left_collections`
    then says which it left); an article in none of them is a 404."""
    scope = scoped_collections(assistant, request, collection)
    before = assistant.article_collections(article_id, scope)
    if assistant.remove(article_id, scope):
        return ArticleRemoved(removed=article_id)
    return ArticleRemoved(removed=article_id, left_collections=before)


ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]  # HEAD arrives as GET (app.HeadLikeGet)


@router.api_route("/{rest:path}", methods=ANY_METHOD, include_in_schema=False)
def unknown_route(request: Request, rest: str) -> JSONResponse:
    """Any other /api/ URL or method: the API's own 404 (or 405 with Allow), not FastAPI's {"detail"}. Registered
    last, so it sees only what no route above took."""
    allowed = {method for route in router.routes if getattr(route, "endpoint", None) is not unknown_route
               and getattr(route, "path_regex", None) and route.path_regex.match(request.url.path)
               for method in getattr(route, "methods", None) or ()}
    allowed = sorted(allowed | ({"HEAD"} if "GET" in allowed else set()))
    asked = request.scope.get("asked_method", request.method)
    if allowed:
        return error(405, f"{request.url.path} takes {', '.join(allowed)}, not {asked}",
                     {"Allow": ", ".join(allowed)})
    return error(404, f"no such route: {asked} {request.url.path} (GET /docs lists the API)")


def json_errors(app: FastAPI) -> None:
    """The OpenAPI document says what is sent: errors are JSON ({"error"}) even on a route whose answer streams."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            for operation in (op for path in schema.get("paths", {}).values() for op in path.values()):
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[0] in "45" and "text/event-stream" in content and "application/json" not in content:
                        content["application/json"] = content.pop("text/event-stream")
        return app.openapi_schema

    app.openapi = openapi


def _safe_name(filename: str | None) -> str:
    """The file's own name without any folders, safe to create in a temp dir (the suffix picks the loader)."""
    name = re.sub(r"[^\w.\- ]", "_", PurePosixPath((filename or "").replace("\\", "/")).name)
    stem, dot, suffix = name.rpartition(".")
    stem, suffix = (stem, dot + suffix[:16]) if dot else (name, "")
    # file systems count bytes (255 at most): the stem is cut to fit 200 in UTF-8, never the suffix that picks the loader
    stem = stem.encode()[: 200 - len(suffix.encode())].decode(errors="ignore").strip(" .")
    return (stem or "upload") + (suffix if suffix.strip(".") else "")


def _problem(error: dict) -> str:
    """One validation error as "where: what"; a JSON syntax error's place is a character, not a field."""
    if error.get("type") == "json_invalid":
        place = f" at character {error['loc'][-1]}" if isinstance(error["loc"][-1], int) else ""
        return f"body: not valid JSON{place} ({error.get('ctx', {}).get('error', error['msg'])})"
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"


def add_error_handlers(app: FastAPI) -> None:
    """Every error is ``{"error": message}`` with a fitting status; never a stack trace."""

    @app.exception_handler(AssistantError)
    async def assistant_error(request: Request, exc: AssistantError):
        return error(exc.status_code, str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if exc.status_code == 400 and exc.__cause__ is not None and not request.url.path.startswith("/v1/"):
            # FastAPI's "There was an error parsing the body" (bytes that are no UTF-8): an invalid body, as {bad is
            return error(422, "invalid request: body: not valid JSON (send UTF-8 JSON)")
        # In the caller's door's shape: a body found too large mid-stream under /mcp/ is a JSON-RPC error there too
        return refusal(request.scope, exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(DBAPIError)
    async def database_unusable(request: Request, exc: DBAPIError):
        # conversations, feedback and jobs read their database unwrapped: an outage is a 503, as the manifest's is
        log.warning("the database failed on %s %s: %s", request.method, request.url.path, exc.orig or exc)
        return refusal(request.scope, 503, "the database of conversations, feedback and upload jobs cannot be used "
                       "now; try again shortly")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        problems = "; ".join(_problem(e) for e in exc.errors())
        return error(422, f"invalid request: {problems}")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        return error(500, "internal server error")  # Starlette still logs the exception
