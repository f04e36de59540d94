"""The assistant as an MCP server (Model Context Protocol): agents and IDEs ask the articles through tools.

    ask(question, article_ids?, collection?, history?)  the answer with [n] markers; citations as structured data
    search(query, k?, article_ids?, collection?)        passages with their spans in the stored article text
    list_articles(collection?)                          what is indexed
    list_collections()                                  the collections (named sets of articles)
    get_article(article_id)                             one article's cleaned text (what every span points into)
    ingest(paths, collection?, prune?)  over stdio      admins only: files, folders or http(s) links, on this machine
    ingest(urls, collection?)  over HTTP                admins only: http(s) links only (a key holder is no user here)

Over HTTP a key scoped to collections (its keys-file entry's ``collections``) reaches those only: every tool
reads, lists, searches and ingests within them (the guard records them; :mod:`.scope`).

Two transports, one set of tools (built by :func:`build_server`):

- **stdio** (``assistant mcp``, or ``python -m assistant.web.mcp_server``): the local user runs the process, so it
  is an admin, as on the command line. The process holds the index like any command (see
  ``assistant/index/ownership.py``) for as long as the MCP client keeps it running.
- **streamable HTTP** (:func:`mount_mcp`, at ``/mcp`` of the web app): behind the guard, which checks the key,
  rate and body size as for ``/api/`` and records the key's role in the request scope. Requests whose role is
  ``admin`` reach every tool. The guard admits admin keys only here (a widget key is refused, naming why); a
  role it admitted otherwise would reach the read tools only (``ingest`` is not listed, and calling it is a tool
  error naming why); ``ingest`` there advertises and takes ``urls`` only, never
  ``paths``. Mounted without the guard, :class:`McpHttp` checks keys itself and admits admin keys only. The
  transport is stateless and answers JSON (no sessions to steal, no long-lived SSE streams, any replica can
  answer): every message is one POST with a small JSON body; GET and DELETE answer 405, as the MCP spec allows.

Citations and passages name their source as readers see it (a file name or link, never a server path):
``Answer.public(reader=True)``. An ``AssistantError`` becomes a tool error with its message; anything else is
logged with its traceback and the caller sees only "Error executing tool NAME".
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    NotRequired,  # pydantic needs typing_extensions' TypedDict on 3.11
)

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field, ValidationError
from typing_extensions import TypedDict

from .. import errors
from ..models import (
    Answer,
    Filters,
    Link,
    Passage,
    Turn,
    collection_name,
    display_source,
    link_or_path,
    page_link,
)
from .scope import collections_for, ingest_collection

if TYPE_CHECKING:

    from ..core import Assistant

log = logging.getLogger("assistant.mcp")

NAME = "article-assistant"
INSTRUCTIONS = (
    "Answers questions about a set of indexed articles and cites the passage behind every claim. "
    "Prefer `ask` for a question; use `search` to see the passages themselves, `list_articles` for ids, and "
    "`get_article` for an article's whole text (citation and passage spans are character offsets into it). "
    "An answer that is only \"The articles don't say.\" (refused: true) means the articles do not hold it."
)
READ_TOOLS = ("ask", "search", "list_articles", "list_collections", "get_article")
ADMIN_TOOLS = (*READ_TOOLS, "ingest")
NOT_ADMIN = "ingest needs an admin key: this request's key may use the read tools only ({tools})"
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
# ingest's one argument on each transport; a call that sends the other one is told which this server takes.
INGEST_FIELD = {False: "paths", True: "urls"}  # remote (HTTP) -> field
INGEST_FIELD_HINT = {  # by the field this server takes
    "urls": "urls: required: over HTTP ingest takes http(s) links in urls; it reads no files or folders on the "
            "server (paths): upload files with POST /api/articles",
    "paths": "paths: required: this server's ingest takes files, folders or http(s) links in paths (urls is the "
             "field of ingest over HTTP)",
}


# --- what the tools return (their outputSchema) --------------------------------------------------------------
# `ask` returns the Answer model itself (assistant/models.py, its public fields: the HTTP API's shape); an article,
# its listing and a collection have the fields GET /api/articles/{id}, /api/articles and /api/collections send (a
# source as readers see it: a file name or link); a search's passages and an ingest report are views only MCP sends.

class PassageOut(TypedDict):
    article_id: str
    title: str
    source: str
    url: NotRequired[str]
    start: int
    end: int
    score: float
    text: str


class SearchOut(TypedDict):
    passages: list[PassageOut]


class ArticleSummaryOut(TypedDict):
    id: str
    title: str
    source: str
    url: str | None
    published: str | None
    chunks: int
    chars: int
    ingested_at: str
    collections: list[str]


class CollectionOut(TypedDict):
    name: str
    articles: int
    chunks: int
    created_at: str


class CollectionsOut(TypedDict):
    collections: list[CollectionOut]


class ArticlesOut(TypedDict):
    articles: list[ArticleSummaryOut]
    total: int  # of the articles listed with any limit and offset


class ArticleOut(TypedDict):
    id: str
    title: str
    source: str
    url: str | None
    published: str | None
    text: str


class FailedFileOut(TypedDict):
    file: str
    error: str


class IngestOut(TypedDict):
    added: list[str]
    replaced: list[str]
    unchanged: list[str]
    joined: list[str]
    failed: list[FailedFileOut]
    chunks_added: int
    removed: list[str]
    ok: bool


ArticleIds = Annotated[
    list[str] | None,
    Field(max_length=100, description="Only these articles (ids from list_articles); default: all of them."),
]
CollectionArg = Annotated[
    str | None,
    Field(description="Only this collection (from list_collections); default: every collection this key may use."),
]
IngestCollection = Annotated[
    str | None,
    Field(description="The collection they go in (default: a new article goes in `default`; a key scoped to one "
          "collection: that one)."),
]
History = Annotated[
    list[Turn] | None,
    Field(max_length=50, description="Earlier exchanges of the conversation, oldest first ({question, answer}), so "
          "that a follow-up (\"Who will he meet?\", \"When?\") is read against them, as /api/ask's history."),
]


# --- the tools ---------------------------------------------------------------------------------------------

# The fields the assistant's errors name, as the tools' arguments are called (the API's names elsewhere).
ASK_FIELDS = {"filters.article_ids": "article_ids", "filters.collections": "collection"}
SEARCH_FIELDS = {**ASK_FIELDS, "question": "query"}


@contextmanager
def _as_tool_errors(fields: Mapping[str, str] | None = None) -> Iterator[None]:
    """The assistant's own errors reach the caller as tool errors with their one-line message, naming the tool's
    own argument (``fields``: the assistant's field → the argument) where the assistant names another."""
    try:
        yield
    except errors.AssistantError as exc:
        field = getattr(exc, "field", None)
        if fields and field in fields and str(exc).startswith(f"{field}: "):
            raise ToolError(fields[field] + str(exc)[len(field):]) from None
        raise ToolError(str(exc)) from None


def _filters(article_ids: list[str] | None, collection: str | None = None) -> Filters:
    """The tool's arguments as Filters; a malformed collection is InvalidRequest naming the argument (a bare
    validation error would reach the client as "Error executing tool")."""
    named = (collection_name(collection),) if collection is not None else ()  # "" is no name, as on /api/ask
    return Filters(article_ids=tuple(article_ids or ()), collections=named)


def _passage(p: Passage) -> PassageOut:
    out: PassageOut = {
        "article_id": p.chunk.article_id, "title": p.title, "source": display_source(p.source),
        "start": p.chunk.start, "end": p.chunk.end, "score": round(p.score, 4), "text": p.chunk.text,
    }
    if p.url:
        out["url"] = p.url
    return out


def _citations_text(answer: dict) -> str:
    """The citations as lines, for clients that show the model only the text content."""
    return "\n".join(
        f"[{c['n']}] {c['title']} ({c['source']}, chars {c['start']}-{c['end']}): \u201c{c['quote']}\u201d"
        for c in answer["citations"]
    )


def _report_out(report) -> IngestOut:
    return {
        "added": report.added, "replaced": report.replaced, "unchanged": report.unchanged,
        "joined": report.joined, "failed": [{"file": path, "error": reason} for path, reason in report.failed],
        "chunks_added": report.chunks_added, "removed": report.removed, "ok": report.ok,
    }


class _Tools:
    """The tools over one Assistant. ``remote``: called over HTTP, where the budgets of uploads apply."""

    def __init__(self, assistant: Assistant, *, remote: bool, ingest_roots: Sequence[str | Path] | None = None):
        self.assistant = assistant
        self.remote = remote
        self.ingest_roots = [Path(r).resolve() for r in ingest_roots] if ingest_roots is not None else None

    def ask(
        self,
        question: Annotated[str, Field(description="A question about the articles, in plain language.")],
        article_ids: ArticleIds = None,
        history: History = None,
        collection: CollectionArg = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, Answer]:
        """Answer a question from the indexed articles. The answer's sentences end in [n] markers; each
        citation n gives the article, its source (a file name or link), the verbatim quote, and the quote's
        character span (start, end) in the article's stored text. refused is true when the articles do not
        hold the answer ("The articles don't say.")."""
        with _as_tool_errors(ASK_FIELDS):
            filters = self._scoped(ctx, _filters(article_ids, collection))
            answer = self.assistant.ask(question, history or (), filters=filters)
        shaped = answer.public(reader=True)
        content = [TextContent(type="text", text=answer.answer)]
        if shaped["citations"]:
            content.append(TextContent(type="text", text=_citations_text(shaped)))
        return CallToolResult(content=content, structured_content=shaped)

    def search(
        self,
        query: Annotated[str, Field(description="What to look for: a question or key words.")],
        k: Annotated[
            int | None, Field(ge=1, le=50, description="How many passages (default: the server's top_k).")
        ] = None,
        article_ids: ArticleIds = None,
        collection: CollectionArg = None,
        ctx: Context | None = None,
    ) -> SearchOut:
        """Find the passages that best match a query (dense and keyword retrieval, fused), best first. Each
        passage gives its article, source (a file name or link), score, text, and its character span
        (start, end) in the article's stored text (get_article)."""
        with _as_tool_errors(SEARCH_FIELDS):
            filters = self._scoped(ctx, _filters(article_ids, collection))
            passages = self.assistant.retrieve(query, filters=filters, k=k)
        return {"passages": [_passage(p) for p in passages]}

    def list_articles(
        self,
        collection: CollectionArg = None,
        # 5,000 articles were 1.7 million characters: more than a client's context holds
        limit: Annotated[int, Field(ge=1, le=1000, description="At most this many, in title order.")] = 100,
        offset: Annotated[int, Field(ge=0, description="Skip this many first: the next page.")] = 0,
        ctx: Context | None = None,
    ) -> ArticlesOut:
        """List the indexed articles, in title order, a page at a time (`total` says how many there are): id (for
        get_article and article_ids), title, source (a file name or link), the article's own link when it has
        one, published date, number of chunks and characters, when it was ingested, and its collections."""
        with _as_tool_errors():
            scope = self._key_scope(ctx)
            every = self.assistant.articles(collections_for(self.assistant, scope, collection))
        articles = every[offset : offset + limit]
        return {"total": len(every), "articles": [
            {"id": a.id, "title": a.title, "source": display_source(a.source), "url": a.url, "published": a.published,
             "chunks": a.chunks, "chars": a.chars, "ingested_at": a.ingested_at,
             "collections": [c for c in a.collections if scope is None or c in scope]} for a in articles
        ]}

    def list_collections(self, ctx: Context | None = None) -> CollectionsOut:
        """List the collections (named sets of articles) this caller may use, with how many articles and chunks
        each holds; pass a name as `collection` to ask, search or list_articles within it."""
        with _as_tool_errors():
            listed = self.assistant.collections(collections_for(self.assistant, self._key_scope(ctx), None))
        return {"collections": [{"name": c.name, "articles": c.articles, "chunks": c.chunks, "created_at": c.created_at}
                                for c in listed]}

    def get_article(
        self, article_id: Annotated[str, Field(description="The article's id (from list_articles, or a citation).")],
        ctx: Context | None = None,
    ) -> ArticleOut:
        """One article's title, source (a file name or link), link, published date and whole cleaned text: the
        text that citation and passage spans (start, end) point into."""
        with _as_tool_errors():
            article = self.assistant.article(article_id,
                                             collections_for(self.assistant, self._key_scope(ctx), None))
        return {"id": article.id, "title": article.title, "source": display_source(article.source), "url": article.url,
                "published": article.published, "text": article.text}

    def ingest(
        self,
        paths: Annotated[list[str], Field(
            min_length=1, max_length=1000,
            description="Files or folders on the machine running this server (absolute, or relative to its working "
            "directory; folders are read recursively: .txt .md .html .pdf), or http(s) links.",
        )],
        ctx: Context,
        collection: IngestCollection = None,
        prune: Annotated[bool, Field(
            description="Mirror the folders in paths: remove the articles of files no longer in them (deleted, "
            "moved or renamed), listed in removed.")] = False,
    ) -> IngestOut:
        """Add articles to the index. Unchanged files are skipped; a changed file replaces its old chunks. A file
        that cannot be read is listed in failed, and the others still land."""
        with _as_tool_errors():
            # a malformed link is refused (naming paths[i]), never read as a path
            sources = [link_or_path(p, f"paths[{i}]") for i, p in enumerate(paths)]
            files = [s for s in sources if not isinstance(s, Link)]
            self._check_roots(files)
            into = ingest_collection(self.assistant, None, collection)
            try:
                report = self.assistant.ingest(files, links=[s for s in sources if isinstance(s, Link)],
                                               collection=into, prune=prune)
            except OSError as exc:  # a path the loader did not expect to fail so: named, not "Error executing tool"
                where = f" ({exc.filename})" if exc.filename else ""
                raise errors.InvalidRequest("paths", f"could not be read{where}: {exc.strerror or exc}") from None
        return _report_out(report)

    def _key_scope(self, ctx: Context | None) -> tuple[str, ...] | None:
        """The collections the caller may use: over HTTP, those the door recorded for the request's key (a
        remote call without its request may use none); over stdio, every one (the local user)."""
        request = ctx.request_context.request if ctx is not None else None
        if request is None:
            if self.remote:
                raise errors.OutOfScope("this call came without its HTTP request, so its key's collections are "
                                        "unknown")
            return None
        return request.scope.get("state", {}).get("key_scope")

    def _scoped(self, ctx: Context | None, filters: Filters) -> Filters:
        return self.assistant.scoped(filters, self._key_scope(ctx), field="collection")

    def _caller_is_admin(self, ctx: Context) -> bool:
        """Over HTTP, the role the door recorded for this request's key; over stdio, the local user is an admin."""
        request = ctx.request_context.request
        if request is None:
            return not self.remote  # a remote call without its HTTP request is refused, not trusted
        return request.scope.get("state", {}).get("key_role") == "admin"

    def _check_roots(self, paths: Sequence[str]) -> None:
        if self.ingest_roots is None:
            return
        for raw in paths:
            path = Path(raw).resolve()
            if not any(path.is_relative_to(root) for root in self.ingest_roots):
                allowed = ", ".join(map(str, self.ingest_roots)) or "none"
                why = f"{raw} is outside the folders this server ingests from: {allowed}"
                raise errors.InvalidRequest("paths", why)


class _HttpTools(_Tools):
    """The tools over HTTP: ``ingest`` takes links (``urls``), with their own input schema, never ``paths``."""

    def ingest(  # another argument than _Tools.ingest: the HTTP server's own input schema
        self,
        urls: Annotated[list[str], Field(
            min_length=1, max_length=1000,
            description="Links to fetch and add: absolute http:// or https:// URLs (private addresses are refused "
            "unless the server allows them). Files are uploaded through the HTTP API, never read from the server.",
        )],
        ctx: Context,
        collection: IngestCollection = None,
    ) -> IngestOut:
        """Fetch web pages and add them to the index (admin key only). An unchanged page is skipped; a changed one
        replaces its old chunks. A link that fails is listed in failed, and the others still land."""
        if not self._caller_is_admin(ctx):
            raise ToolError(NOT_ADMIN.format(tools=", ".join(READ_TOOLS)))
        with _as_tool_errors():
            links = [page_link(url, f"urls[{i}]") for i, url in enumerate(urls)]  # links only, never paths
            settings = self.assistant.settings
            if len(links) > settings.ingest_max_files:
                why = f"{len(links)} links in one ingest; the limit is {settings.ingest_max_files} (ingest_max_files)"
                raise errors.OverBudget("urls", why)
            into = ingest_collection(self.assistant, self._key_scope(ctx), collection)
            report = self.assistant.ingest(links=links, max_chunks=settings.ingest_max_chunks, collection=into)
        return _report_out(report)


class _Server(MCPServer):
    """An MCPServer that answers a call to a tool it does not offer with why (e.g. ingest without an admin key),
    and an ingest that sends the other transport's field (``paths`` over HTTP, ``urls`` over stdio) with the
    field this one takes (the SDK would only say its own field is missing)."""

    def __init__(self, *args: Any, withheld: Mapping[str, str] | None = None, ingest_field: str = "paths",
                 **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._withheld = dict(withheld or {})
        self._ingest_field = ingest_field

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        if name in self._withheld:
            raise ToolError(self._withheld[name])
        if name == "ingest" and isinstance(arguments, dict) and self._ingest_field not in arguments:
            other = "urls" if self._ingest_field == "paths" else "paths"
            if other in arguments:
                raise ToolError(INGEST_FIELD_HINT[self._ingest_field])
        tool = self._tool_manager.get_tool(name)
        if tool is not None and isinstance(arguments, dict):  # as /api/ask refuses a field it does not take
            takes = tool.parameters.get("properties", {})
            unknown = [a for a in arguments if a not in takes]
            if unknown:
                raise ToolError(f"{unknown[0]}: {name} takes no such argument; it takes {', '.join(takes)}")
            try:  # checked here too, to say it in one line naming the argument (the SDK sends pydantic's dump)
                tool.fn_metadata.validate_arguments(arguments)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(part) for part in first["loc"]) or "arguments"
                raise ToolError(f"{where}: {first['msg'][:1].lower()}{first['msg'][1:]}") from None
        return await super().call_tool(name, arguments, context)


@contextmanager
def _root_logging_kept() -> Iterator[None]:
    """MCPServer() calls logging.basicConfig (a handler on the root logger); the server's logging stays ours."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def build_server(
    assistant: Assistant,
    *,
    admin: bool = True,
    remote: bool = False,
    ingest_roots: Sequence[str | Path] | None = None,
    lifespan: Any = None,
) -> MCPServer:
    """The MCP server over ``assistant``: the read tools, and ``ingest`` when ``admin``.

    ``remote`` (HTTP): ``ingest`` takes links only: its input schema has ``urls`` (http(s) links), no ``paths``; it
    checks the request's key role and applies the upload budgets (``ingest_max_files``, ``ingest_max_chunks``). Over
    stdio, ``ingest`` takes ``paths`` (files, folders or links), and ``ingest_roots`` limits it to paths under those
    folders (the paths given, resolved; a symlink placed inside one of them is followed, as the command line does).
    """
    tools = (_HttpTools if remote else _Tools)(assistant, remote=remote, ingest_roots=ingest_roots)
    withheld = {} if admin else {"ingest": NOT_ADMIN.format(tools=", ".join(READ_TOOLS))}
    with _root_logging_kept():
        server = _Server(
            NAME, title="Article assistant", instructions=INSTRUCTIONS, version=_version(),
            withheld=withheld, ingest_field=INGEST_FIELD[remote], subscriptions=False, lifespan=lifespan,
            log_level="WARNING",
        )
    server.add_tool(tools.ask, title="Ask the articles", annotations=READ_ONLY)
    server.add_tool(tools.search, title="Search passages", annotations=READ_ONLY)
    server.add_tool(tools.list_articles, title="List articles", annotations=READ_ONLY)
    server.add_tool(tools.list_collections, title="List collections", annotations=READ_ONLY)
    server.add_tool(tools.get_article, title="Get an article's text", annotations=READ_ONLY)
    if admin:
        writes = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True)
        # over HTTP a key holder is no user of this machine: links only, with their own schema (_HttpTools.ingest)
        title = "Ingest web pages (admin)" if remote else "Ingest files or links"
        server.add_tool(tools.ingest, title=title, annotations=writes)
    for tool in server._tool_manager.list_tools():
        tool.parameters["additionalProperties"] = False  # call_tool refuses others; clients should know
    if remote and admin:  # the limit ingest applies, not the schema's own bound
        server._tool_manager.get_tool("ingest").parameters["properties"]["urls"]["maxItems"] = \
            assistant.settings.ingest_max_files
    # as ask sends it: serialization's shape has the citation's computed phrase (absent when None, so not required)
    server._tool_manager.get_tool("ask").fn_metadata.output_schema = Answer.model_json_schema(mode="serialization")
    return server


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("article-assistant")
    except PackageNotFoundError:
        return ""


# --- stdio -------------------------------------------------------------------------------------------------

def run_stdio(assistant: Assistant) -> None:
    """Serve MCP on stdin/stdout until the client closes it (blocking). The local user is an admin.

    While it serves, the SDK points file descriptor 1 at stderr, so nothing printed by a library (model
    loading, warnings) lands in the JSON-RPC stream. The models load in the background from the start.
    """

    @asynccontextmanager
    async def warm_up(_server: MCPServer) -> AsyncIterator[dict]:
        threading.Thread(target=_warm_up, args=(assistant,), name=WARM_UP_THREAD, daemon=True).start()
        yield {}

    build_server(assistant, admin=True, remote=False, lifespan=warm_up).run("stdio")


WARM_UP_THREAD = "mcp-warm-up"


def exit_if_warming_up() -> None:
    """Called once the stdio loop has returned and the index is released. A client that leaves at once (connect,
    list the tools, go) leaves the warm-up loading models in native threads, which the interpreter's exit tears
    down mid-load: the process aborted ("terminate called without an active exception", status -6). It ends here
    instead, with 0: the tools' calls ended with the loop, and a model half-loaded is nothing to keep."""
    if any(t.name == WARM_UP_THREAD and t.is_alive() for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _warm_up(assistant: Assistant) -> None:
    try:
        assistant.warm_up()
    except Exception:  # the first call reports what is wrong; the server keeps serving
        log.warning("warm-up failed", exc_info=True)


def main() -> None:
    """``python -m assistant.web.mcp_server``: stdio over the index of the ASSISTANT_* settings (as ``assistant mcp``)."""
    from ..core import claimed
    from ..settings import load_settings

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
        on_wait = lambda why: print(f"waiting: {why}", file=sys.stderr, flush=True)  # noqa: E731
        with claimed(settings, "mcp", on_wait=on_wait) as assistant:
            run_stdio(assistant)
        exit_if_warming_up()
    except errors.AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
