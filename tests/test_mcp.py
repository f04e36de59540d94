"""The MCP server (assistant/web/mcp_server.py), driven by the `mcp` SDK's own client against real things:

- stdio: a real `python -m assistant.web.mcp_server` subprocess over an index the real `assistant ingest` built;
- streamable HTTP: real uvicorn servers on 127.0.0.1 with the endpoint mounted as proposed for the web app,
  on its own (it checks keys itself) and behind the real guard of `create_app`.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import os
import subprocess
import sys
import threading
import time
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
from conftest import ROOT, SEED_ARTICLE, SEEDS
from fastapi import FastAPI
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from servers import ServerThread

from assistant.core import Assistant
from assistant.models import ArticleInfo
from assistant.settings import load_settings
from assistant.web.auth import load_keyring
from assistant.web.mcp_http import mount_mcp
from assistant.web.mcp_server import ADMIN_TOOLS, READ_TOOLS
from assistant.web.schemas import ArticleText

KEY_REFUSED = "missing or unknown API key; send an API key as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"
WRONG_KEY_CHALLENGE = f'Bearer realm="article-assistant", error="invalid_token", error_description="{KEY_REFUSED}"'
NO_KEY_CHALLENGE = f'Bearer realm="article-assistant", error_description="{KEY_REFUSED}"'  # RFC 6750 3.1: no error
OAUTH_DISCOVERY = ("/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp",
                   "/.well-known/oauth-authorization-server", "/.well-known/oauth-authorization-server/mcp",
                   "/.well-known/openid-configuration")

WIDGET_ONLY = "a widget key may only ask questions, rate answers, read the articles they cite and its own conversations"

ADMIN = "admin-key-0123456789"
WIDGET = "widget-key-0123456789"
ALLOWED = "http://allowed.example"
JIG = "What does JIG stand for?"
NEW_ARTICLE = (
    "Harbour council approves tidal barrier\n\n"
    "The harbour council voted on Tuesday to build a tidal barrier across the mouth of the Wend estuary. "
    "The barrier will cost 41 million euros and is due to open in 2031, the council's engineer said. "
    "Fishing crews asked for a lock wide enough for trawlers, which the plans now include.\n"
)
CITATION_KEYS = {"n", "article_id", "title", "source", "quote", "start", "end", "score"}  # + "url" and "phrase" when known
PASSAGE_KEYS = {"article_id", "title", "source", "start", "end", "score", "text"}


def run(scenario, *args):
    """Run an async scenario to completion (the SDK is async; these tests are plain functions)."""
    return anyio.run(scenario, *args)


def text_of(result) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


def tool_names(listing) -> set[str]:
    return {tool.name for tool in listing.tools}


def write_article(folder: Path, name: str = "barrier.txt", title: str = "") -> Path:
    """A new article file (NEW_ARTICLE, under another title when given)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    text = NEW_ARTICLE.replace("Harbour council approves tidal barrier", title) if title else NEW_ARTICLE
    path.write_text(text, encoding="utf-8")
    return path


# --- stdio: a real subprocess -------------------------------------------------------------------------------

@pytest.fixture
def stdio_index(tmp_path) -> Path:
    """An index the real command line built from the seed article."""
    index = tmp_path / "index"
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index)}
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", str(SEEDS)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return index


@asynccontextmanager
async def stdio_session(index: Path, log: Path, mode: str = "auto"):
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "assistant.web.mcp_server"], cwd=ROOT,
        env={**os.environ, "ASSISTANT_INDEX_DIR": str(index)},
    )
    with log.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode=mode, read_timeout_seconds=240) as client:
            yield client


def test_stdio_read_tools(stdio_index, tmp_path):
    log = tmp_path / "server.log"

    async def scenario():
        async with stdio_session(stdio_index, log, mode="legacy") as client:
            listing = await client.list_tools()
            assert tool_names(listing) == set(ADMIN_TOOLS)  # the local user is an admin, as on the command line
            read_only = {t.name for t in listing.tools if t.annotations and t.annotations.read_only_hint}
            assert read_only == set(READ_TOOLS)
            assert all(t.output_schema for t in listing.tools)
            ingest = next(t for t in listing.tools if t.name == "ingest")  # over stdio: files, folders or links
            assert list(ingest.input_schema["properties"]) == ["paths", "collection", "prune"]
            assert ingest.input_schema["required"] == ["paths"]
            assert "Files or folders" in ingest.input_schema["properties"]["paths"]["description"]
            assert all(t.input_schema["additionalProperties"] is False for t in listing.tools)
            # the citation's phrase is in the published shape, as ask sends it; nothing that may be absent is required
            ask_out = next(t for t in listing.tools if t.name == "ask").output_schema
            assert "phrase" in ask_out["$defs"]["Citation"]["properties"]
            assert "phrase" not in ask_out["$defs"]["Citation"]["required"]  # absent when None
            assert ask_out["required"] == ["answer", "citations", "refused"]  # always sent

            answer = await client.call_tool("ask", {"question": JIG})
            assert not answer.is_error, text_of(answer)
            assert "Joint Implementation Group" in answer.content[0].text and "[1]" in answer.content[0].text
            shaped = answer.structured_content
            assert set(shaped) <= {"answer", "citations", "refused", "notice"} and shaped["refused"] is False
            assert shaped["answer"] == answer.content[0].text
            citation = shaped["citations"][0]
            assert CITATION_KEYS <= set(citation) <= CITATION_KEYS | {"url", "phrase"}
            assert citation["source"] == SEED_ARTICLE.name  # a file name, never the server's path
            assert "Joint Implementation Group" in citation["quote"]
            assert "[1] " in answer.content[1].text  # the citations as text, for clients that read text only

            # a follow-up is read against the earlier turns, as /api/ask's history
            visiting = "Which city is John Kerry visiting?"
            first = await client.call_tool("ask", {"question": visiting})
            follow_up = await client.call_tool("ask", {"question": "Who will he meet on Friday?", "history": [
                {"question": visiting, "answer": first.content[0].text}]})
            assert not follow_up.is_error and "Lavrov" in follow_up.content[0].text, text_of(follow_up)
            schema = next(t for t in listing.tools if t.name == "ask").input_schema
            assert "history" in schema["properties"]
            wrong = await client.call_tool("ask", {"question": "Who?", "history": [{"question": visiting}]})
            assert wrong.is_error and "answer" in text_of(wrong)  # names the missing field

            listed = (await client.call_tool("list_articles", {})).structured_content
            articles = listed["articles"]
            assert len(articles) == 1 and listed["total"] == 1
            paged = (await client.call_tool("list_articles", {"limit": 1, "offset": 1})).structured_content
            assert paged == {"articles": [], "total": 1}  # a page past the end: none, and how many there are
            assert (await client.call_tool("list_articles", {"limit": 0})).is_error
            # the fields GET /api/articles sends, the source as readers see it
            assert set(articles[0]) == {f.name for f in dataclasses.fields(ArticleInfo)} and articles[0]["chunks"] > 0
            assert articles[0]["source"] == SEED_ARTICLE.name and articles[0]["chars"] > 0
            article_id = articles[0]["id"]
            assert citation["article_id"] == article_id

            article = (await client.call_tool("get_article", {"article_id": article_id})).structured_content
            assert article["title"] == articles[0]["title"] == citation["title"]
            assert set(article) == set(ArticleText.model_fields) and article["source"] == SEED_ARTICLE.name
            assert article["text"][citation["start"]:citation["end"]] == citation["quote"]

            found = await client.call_tool("search", {"query": "Joint Implementation Group", "k": 2})
            passages = found.structured_content["passages"]
            assert 1 <= len(passages) <= 2
            for p in passages:
                assert PASSAGE_KEYS <= set(p) <= PASSAGE_KEYS | {"url"}
                assert p["source"] == SEED_ARTICLE.name
                assert article["text"][p["start"]:p["end"]] == p["text"]  # spans point into the stored text
            assert "Joint Implementation Group" in passages[0]["text"]

            # the assistant's errors are tool errors with their message, never a traceback
            missing = await client.call_tool("get_article", {"article_id": "no-such-article"})
            assert missing.is_error and "no article with id 'no-such-article'" in text_of(missing)
            huge = await client.call_tool("get_article", {"article_id": "x" * 100_000})  # was echoed whole
            assert huge.is_error and f"id {'x' * 80!r}… (100,000 characters)" in text_of(huge)
            assert len(text_of(huge)) < 300, len(text_of(huge))
            empty = await client.call_tool("ask", {"question": "   "})
            assert empty.is_error and "question: is empty" in text_of(empty)
            too_many = await client.call_tool("search", {"query": "JIG", "k": 500})
            assert too_many.is_error and "Traceback" not in text_of(too_many)
            # arguments of the wrong type or missing: one line naming the argument, not pydantic's dump
            for tool, arguments, said in (("ask", {}, "question: field required"),
                                          ("ask", {"question": 5}, "question: input should be a valid string"),
                                          ("search", {"query": "JIG", "k": "two"}, "k: input should be a valid integer"),
                                          ("ask", {"question": "Who?", "article_ids": "x"}, "article_ids: input should "
                                           "be a valid list")):
                wrong_type = await client.call_tool(tool, arguments)
                assert wrong_type.is_error and text_of(wrong_type).startswith(said), text_of(wrong_type)
                assert "\n" not in text_of(wrong_type) and "pydantic" not in text_of(wrong_type)
            for tool, arguments in (("search", {"query": "JIG"}), ("ask", {"question": "What does JIG stand for?"})):
                for name in ("bad name!", ""):  # "" is no collection, as on /api/ask, never "every collection"
                    misnamed = await client.call_tool(tool, {**arguments, "collection": name})
                    assert misnamed.is_error and f"collection: {name!r} is not a collection name" in text_of(misnamed)
                # an argument the tool does not take (the API's filters) is refused, never ignored
                extra = await client.call_tool(tool, {**arguments, "filters": {"article_ids": ["x"]}})
                assert extra.is_error and text_of(extra).startswith(f"filters: {tool} takes no such argument")
                # an article id that is not there is an error naming the tool's argument, for search as for ask
                nowhere = await client.call_tool(tool, {**arguments, "article_ids": ["no-such-article"]})
                assert nowhere.is_error, nowhere.structured_content
                assert "tool search: article_ids: no article" in text_of(nowhere) if tool == "search" else \
                    "article_ids: no article with id 'no-such-article'" in text_of(nowhere)
            unnamed = await client.call_tool("search", {"query": "  "})
            assert unnamed.is_error and "search: query: is empty" in text_of(unnamed)  # search's argument, not ask's

    run(scenario)
    assert "Traceback" not in log.read_text()


def test_stdio_ingest(stdio_index, tmp_path):
    new = write_article(tmp_path / "docs")
    log = tmp_path / "server.log"

    async def scenario():
        async with stdio_session(stdio_index, log) as client:  # mode "auto": the 2026 protocol when both speak it
            report = (await client.call_tool("ingest", {"paths": [str(new.parent)]})).structured_content
            assert report["ok"] and len(report["added"]) == 1 and report["chunks_added"] > 0
            again = (await client.call_tool("ingest", {"paths": [str(new)]})).structured_content
            assert again["unchanged"] == report["added"] and not again["added"]
            bad = (await client.call_tool("ingest", {"paths": [str(tmp_path / "missing.txt")]})).structured_content
            assert not bad["ok"] and bad["failed"][0]["file"].endswith("missing.txt")
            # a name too long for the file system fails alone (its ENAMETOOLONG was "Error executing tool ingest")
            too_long = str(new.parent / ("y" * 300 + ".txt"))
            mixed = (await client.call_tool("ingest", {"paths": [too_long, str(new)]})).structured_content
            assert mixed["failed"] == [{"file": too_long, "error": "the file name is too long"}]
            assert mixed["unchanged"] == report["added"]
            # a malformed link is named by its place; the HTTP server's field is answered with this one's
            malformed = await client.call_tool("ingest", {"paths": [str(new), "https://"]})
            assert malformed.is_error and "paths[1]: 'https://' is not a link" in text_of(malformed)
            # "" would be the server's working directory (a desktop client's: the home folder)
            empty = await client.call_tool("ingest", {"paths": [str(new), ""]})
            assert empty.is_error and "ingest: paths[1]: an empty path" in text_of(empty)
            urls = await client.call_tool("ingest", {"urls": [str(new)]})
            assert urls.is_error and text_of(urls).startswith("paths: required") and "urls" in text_of(urls)

            articles = (await client.call_tool("list_articles", {})).structured_content["articles"]
            assert {a["title"] for a in articles} >= {"Harbour council approves tidal barrier"}
            answer = await client.call_tool("ask", {"question": "How much will the tidal barrier cost?",
                                                    "article_ids": report["added"]})
            assert not answer.is_error and "41 million euros" in answer.content[0].text
            assert answer.structured_content["citations"][0]["source"] == new.name

            new.rename(new.with_name("moved.txt"))  # the folder mirrored: the old path's article goes
            pruned = (await client.call_tool("ingest", {"paths": [str(new.parent)], "prune": True})).structured_content
            assert pruned["removed"] == report["added"] and len(pruned["added"]) == 1 and pruned["ok"]

    run(scenario)


def test_stdio_a_client_that_leaves_at_once_ends_the_server_cleanly(stdio_index, tmp_path):
    """Connect, list the tools, go: the models the warm-up was still loading were torn down by the interpreter's
    exit, which aborted ("terminate called without an active exception", status -6). A shell records the status."""
    log, status = tmp_path / "server.log", tmp_path / "status"
    params = StdioServerParameters(
        command="sh", args=["-c", '"$0" -m assistant.web.mcp_server; echo $? > "$1"', sys.executable, str(status)],
        cwd=ROOT, env={**os.environ, "ASSISTANT_INDEX_DIR": str(stdio_index)},
    )

    async def scenario(stay: float):
        with log.open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog), read_timeout_seconds=240) as client:
                assert tool_names(await client.list_tools()) == set(ADMIN_TOOLS)
                await anyio.sleep(stay)

    for stay in (0, 0.25, 0.5, 0.75, 1):  # the abort needed the client gone mid-load (0.3 to 0.6 s here)
        status.unlink(missing_ok=True)
        run(scenario, stay)
        for _ in range(100):
            if status.exists() and status.read_text().strip():
                break
            time.sleep(0.1)
        said = log.read_text()
        assert status.read_text().strip() == "0" and "terminate called" not in said, said


# --- streamable HTTP ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def web_assistant(tmp_path_factory) -> Assistant:
    """Its own index (the HTTP tests ingest into it), with keys."""
    settings = load_settings(
        index_dir=tmp_path_factory.mktemp("mcp-http") / "index", admin_keys=ADMIN, widget_keys=WIDGET,
        widget_origins=ALLOWED, api_rate_per_minute=10_000, failed_auth_per_minute=10_000,
        fetch_allow_hosts="127.0.0.1",  # the test's own web server
    )
    assistant = Assistant(settings)
    assert assistant.ingest([SEEDS]).ok
    return assistant


@contextmanager
def served(folder: Path):
    """``folder`` over HTTP on 127.0.0.1 (links to ingest): yields its base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}"
    finally:
        site.shutdown()


def http_client(url: str, *, legacy: bool = False, **headers: str) -> Client:
    transport = streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers, timeout=240))
    return Client(transport, mode="legacy" if legacy else "auto")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def read_tools_work(client: Client) -> None:
    answer = await client.call_tool("ask", {"question": JIG})
    assert not answer.is_error, text_of(answer)
    assert "Joint Implementation Group" in answer.content[0].text
    assert answer.structured_content["citations"][0]["source"] == SEED_ARTICLE.name
    passages = (await client.call_tool("search", {"query": "Joint Implementation Group"})).structured_content
    assert passages["passages"] and passages["passages"][0]["source"] == SEED_ARTICLE.name
    articles = (await client.call_tool("list_articles", {})).structured_content["articles"]
    seed = next(a for a in articles if a["title"] == answer.structured_content["citations"][0]["title"])
    article = (await client.call_tool("get_article", {"article_id": seed["id"]})).structured_content
    assert "Joint Implementation Group" in article["text"]


def test_http_admin_key(web_assistant, tmp_path):
    docs = tmp_path / "docs"
    new = write_article(docs)
    app = FastAPI()
    mount_mcp(app, assistant=web_assistant, keyring=load_keyring(web_assistant.settings))

    async def listing(url: str):
        for legacy in (False, True):  # the 2026 per-request protocol, and the 2025 initialize handshake
            async with http_client(url, legacy=legacy, **bearer(ADMIN)) as client:
                tools = (await client.list_tools()).tools
                assert {t.name for t in tools} == set(ADMIN_TOOLS)
                ingest = next(t for t in tools if t.name == "ingest")  # over HTTP: links, with their own schema
                assert list(ingest.input_schema["properties"]) == ["urls", "collection"] and "web pages" in ingest.description
                assert ingest.input_schema["required"] == ["urls"] and "paths" not in str(ingest.input_schema)
                urls = ingest.input_schema["properties"]["urls"]
                assert urls["type"] == "array" and urls["items"] == {"type": "string"}
                assert "http:// or https:// URLs" in urls["description"] and "never read from the server" in urls["description"]
                assert urls["maxItems"] == web_assistant.settings.ingest_max_files  # the limit ingest applies
                await read_tools_work(client)

    async def scenario(url: str, site: str):
        await listing(url)
        async with http_client(url, **bearer(ADMIN)) as client:
            report = (await client.call_tool("ingest", {"urls": [f"{site}/{new.name}"]})).structured_content
            assert report["ok"] and len(report["added"]) == 1, report
            # a path, however spelled, is no link: refused by its text, whether or not it exists here
            for path in (str(new), str(SEED_ARTICLE), "HTTP://../" + str(new), "/no/such/file.txt", "file://" + str(new)):
                refused = await client.call_tool("ingest", {"urls": [path]})
                assert refused.is_error and "urls[0]:" in text_of(refused) and "is not a link" in text_of(refused)
            second = await client.call_tool("ingest", {"urls": [f"{site}/{new.name}", "ftp://example.com/a.txt"]})
            assert second.is_error and "urls[1]: 'ftp://example.com/a.txt' is not a link" in text_of(second)
            stdio_field = await client.call_tool("ingest", {"paths": [str(new)]})  # the stdio server's field
            assert stdio_field.is_error and text_of(stdio_field).startswith("urls: required")
            assert "reads no files or folders on the server (paths)" in text_of(stdio_field)
            answer = await client.call_tool("ask", {"question": "When is the tidal barrier due to open?",
                                                    "article_ids": report["added"]})
            assert "2031" in answer.content[0].text

    with ServerThread(app) as server, served(docs) as site:
        run(scenario, server.url + "/mcp", site)
        run(listing, server.url + "/mcp/")  # as clients are often given it
        # the door, seen by a plain HTTP client: keys first, then POST only
        message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        nobody = httpx.post(server.url + "/mcp", json=message)
        assert nobody.status_code == 401 and nobody.headers["www-authenticate"] == NO_KEY_CHALLENGE
        assert nobody.json()["error"] == {"code": -32001, "message": f"{KEY_REFUSED} (HTTP 401)", "data": {"status": 401}}
        wrong = httpx.post(server.url + "/mcp/", json=message, headers=bearer("not-a-key"))
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == WRONG_KEY_CHALLENGE
        widget = httpx.post(server.url + "/mcp", json=message, headers={"X-API-Key": WIDGET, "Origin": ALLOWED})
        assert widget.status_code == 403 and "admin key" in widget.json()["error"]["message"]
        stream = httpx.get(server.url + "/mcp", headers={**bearer(ADMIN), "Accept": "text/event-stream"})
        assert stream.status_code == 405 and stream.headers["allow"] == "POST"
        # a body that is not one JSON-RPC message: one line naming the field (the SDK dumped pydantic's 19 lines)
        for sent, said in [
            ({"content": b"{}", "headers": {"Content-Type": "text/plain"}},
             "Content-Type: must be application/json (got 'text/plain') (HTTP 415)"),
            ({"content": b"{not json"}, "body: not JSON (Expecting property name enclosed in double quotes: "
                                         "line 1 column 2 (char 1)) (HTTP 400)"),
            ({"json": [message, message]}, "body: one JSON-RPC message per request (batches are not taken) (HTTP 400)"),
            ({"json": "hi"}, "body: must be a JSON-RPC message (an object) (HTTP 400)"),
            ({"json": {"id": 1, "method": "tools/list"}}, 'jsonrpc: must be "2.0" (HTTP 400)'),
            ({"json": {**message, "params": [1]}}, "params: must be an object (HTTP 400)"),
            ({"json": {**message, "method": "tools/call", "params": {"name": "ask", "arguments": "x"}}},
             "params.arguments: must be an object (HTTP 400)"),
        ]:
            headers = {**bearer(ADMIN), "Accept": "application/json, text/event-stream", **sent.pop("headers", {})}
            if "content" in sent:
                headers.setdefault("Content-Type", "application/json")
            refused = httpx.post(server.url + "/mcp/", headers=headers, **sent)
            assert refused.json()["error"]["message"] == said and refused.status_code == int(said[-4:-1]), refused.text
        elsewhere = httpx.post(server.url + "/mcp/tools", json=message, headers=bearer(ADMIN))
        assert elsewhere.status_code == 404 and elsewhere.json()["error"]["message"] == \
            "no such route: POST /mcp/tools; the MCP endpoint is POST /mcp/ (HTTP 404)"


def leaves(error: BaseException) -> list[BaseException]:
    """The errors inside (nested) exception groups: the SDK client raises from its task groups."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


async def refusals(url: str, *, legacy: bool = False, **headers: str) -> list[BaseException]:
    """The errors the SDK client raises when the server refuses it (it must refuse)."""
    with pytest.raises(BaseException) as raised:
        async with http_client(url, legacy=legacy, **headers) as client:
            await client.list_tools()
    return leaves(raised.value)


async def refusal_of(url: str, **headers: str) -> str:
    """What the SDK client says when the server refuses it."""
    return " | ".join(f"{type(leaf).__name__}: {leaf}" for leaf in await refusals(url, **headers))


async def key_refused(url: str, **headers: str) -> None:
    """The SDK client, both protocols: a refused key is an MCPError with the server's words and the status 401."""
    for legacy in (False, True):
        (error,) = await refusals(url, legacy=legacy, **headers)
        assert isinstance(error, MCPError) and str(error) == f"{KEY_REFUSED} (HTTP 401)", repr(error)
        assert error.code == -32001 and error.data == {"status": 401}


def test_http_without_admin_key_is_refused(web_assistant):
    app = FastAPI()
    mount_mcp(app, assistant=web_assistant, keyring=load_keyring(web_assistant.settings))

    async def scenario(url: str):
        await key_refused(url)
        await key_refused(url, **bearer("not-a-key"))
        widget = await refusal_of(url, **{"X-API-Key": WIDGET, "Origin": ALLOWED})
        assert "MCPError: MCP over HTTP takes an admin key; this is a widget key (HTTP 403)" in widget

    with ServerThread(app) as server:
        run(scenario, server.url + "/mcp")


class ReaderRoleDoor:
    """Stands in for the guard with ("POST", "/mcp") added to its WIDGET_ROUTES (not the proposed wiring): it
    admits a widget key and records its role, as the guard does for /api/ (``scope["state"]["key_role"]``)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and (WIDGET.encode() in dict(scope["headers"]).get(b"x-api-key", b"")):
            scope.setdefault("state", {})["key_role"] = "widget"
        await self.app(scope, receive, send)


def test_http_reader_role_gets_read_tools_only(web_assistant, tmp_path):
    new = write_article(tmp_path / "docs", "refused.txt", title="A file no reader may ingest")
    app = FastAPI()
    mount_mcp(app, assistant=web_assistant, keyring=load_keyring(web_assistant.settings))
    app.add_middleware(ReaderRoleDoor)

    async def scenario(url: str):
        async with http_client(url, **{"X-API-Key": WIDGET}) as client:
            assert tool_names(await client.list_tools()) == set(READ_TOOLS)  # ingest is not offered
            await read_tools_work(client)
            refused = await client.call_tool("ingest", {"paths": [str(new)]})
            assert refused.is_error and "ingest needs an admin key" in text_of(refused)
        assert not any(a.title == "A file no reader may ingest" for a in web_assistant.articles())

    with ServerThread(app) as server:
        run(scenario, server.url + "/mcp")


def test_http_behind_the_real_guard(web_assistant, tmp_path):
    """The web app's guard in front (keys, rates, body limit, CORS): mounted under /api/, which it guards today."""
    from assistant.web.app import create_app

    new = write_article(tmp_path / "docs", "guarded.txt")
    app = create_app(web_assistant)
    mount_mcp(app, path="/api/mcp")

    async def scenario(url: str, site: str):
        async with http_client(url, **bearer(ADMIN)) as client:
            assert tool_names(await client.list_tools()) == set(ADMIN_TOOLS)
            await read_tools_work(client)
            report = (await client.call_tool("ingest", {"urls": [f"{site}/{new.name}"]})).structured_content
            assert report["ok"] and report["added"]

    with ServerThread(app) as server, served(new.parent) as site:
        url = server.url + "/api/mcp"
        run(scenario, url, site)
        message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        assert httpx.post(url, json=message).status_code == 401  # the guard's refusal
        widget = httpx.post(url, json=message, headers={"X-API-Key": WIDGET, "Origin": ALLOWED})
        assert widget.status_code == 403 and widget.json() == {"error": WIDGET_ONLY}
        big = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "ask", "arguments": {"question": "x" * 100_000}}}
        assert httpx.post(url, json=big, headers=bearer(ADMIN)).status_code == 413  # the guard's JSON body limit


def test_wired_web_app_guards_mcp(web_assistant):
    """Once create_app mounts /mcp (see the report), the guard covers it like /api/: keys, and rates per key."""
    from assistant.web.app import create_app

    app = create_app(web_assistant)
    if not any(getattr(route, "path", None) == "/mcp" for route in app.router.routes):
        pytest.skip("create_app does not mount /mcp yet")

    async def scenario(url: str):
        async with http_client(url, **bearer(ADMIN)) as client:
            assert tool_names(await client.list_tools()) == set(ADMIN_TOOLS)
            await read_tools_work(client)

    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    with ServerThread(app) as server:
        run(scenario, server.url + "/mcp")
        refused = httpx.post(server.url + "/mcp", json=message)
        error = refused.json()["error"]
        assert refused.status_code == 401
        assert (error["message"] if isinstance(error, dict) else error).startswith("missing or unknown API key")

        def chunked():  # no Content-Length: the body is found too large as it arrives, and is still JSON-RPC's
            yield b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"question": "'
            for _ in range(10):
                yield b"x" * 10_000
            yield b'"}}'

        big = httpx.post(server.url + "/mcp/", content=chunked(), headers={**bearer(ADMIN), "Content-Type": "application/json"})
        assert big.status_code == 413 and big.json()["jsonrpc"] == "2.0" and "65,536-byte" in big.json()["error"]["message"]

    # only the guard limits rates: the endpoint alone does not
    limited = Assistant(load_settings(**(web_assistant.settings.model_dump() | {"api_rate_per_minute": 3})),
                        embedder=web_assistant.embedder, store=web_assistant.index.store)
    with ServerThread(create_app(limited)) as server:
        statuses = [httpx.post(server.url + "/mcp", json=message, headers=bearer(ADMIN)).status_code for _ in range(4)]
        assert 429 not in statuses[:3] and statuses[3] == 429
    # a widget key at /mcp/, as an MCP client (no Origin) or a page would send it: why, and no lock-out
    strict = Assistant(load_settings(**(web_assistant.settings.model_dump() | {"failed_auth_per_minute": 3})),
                       embedder=web_assistant.embedder, store=web_assistant.index.store)
    with ServerThread(create_app(strict)) as server:
        for origin in ({}, {"Origin": ALLOWED}) * 3:
            widget = httpx.post(server.url + "/mcp/", json=message, headers={"X-API-Key": WIDGET, **origin})
            assert widget.status_code == 403, widget.text
            assert widget.json()["error"]["message"] == "MCP over HTTP takes an admin key; this is a widget key (HTTP 403)"
        assert httpx.post(server.url + "/mcp/", json=message, headers=bearer(ADMIN)).status_code == 200


def test_wired_app_a_refused_key_is_a_401_that_mcp_clients_show(web_assistant, tmp_path):
    """The web app's own wiring (create_app: /mcp and /mcp/ behind the real guard): what the SDK client raises for a
    wrong or missing key, the RFC 6750 challenge a client reads first on a 401, and the OAuth discovery and
    registration it tries next, answered with a plain JSON 404 (never the chat page, never a redirect)."""
    from assistant.web.app import create_app

    new = write_article(tmp_path / "docs", "wired.txt", title="A page ingested through the wired /mcp/")
    app = create_app(web_assistant)

    async def scenario(url: str, site: str):
        await key_refused(url, **bearer("not-a-key"))
        await key_refused(url, **{"X-API-Key": "not-a-key"})
        await key_refused(url)
        async with http_client(url, **bearer(ADMIN)) as client:
            ingest = next(t for t in (await client.list_tools()).tools if t.name == "ingest")
            assert list(ingest.input_schema["properties"]) == ["urls", "collection"]
            report = (await client.call_tool("ingest", {"urls": [f"{site}/{new.name}"]})).structured_content
            assert report["ok"] and (report["added"] or report["unchanged"]), report

    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    refused = {"jsonrpc": "2.0", "id": None,
               "error": {"code": -32001, "message": f"{KEY_REFUSED} (HTTP 401)", "data": {"status": 401}}}
    with ServerThread(app) as server, served(new.parent) as site:
        for path in ("/mcp", "/mcp/"):
            run(scenario, server.url + path, site)
            for headers in (bearer("not-a-key"), {"X-API-Key": "not-a-key"}):
                wrong = httpx.post(server.url + path, json=message, headers=headers)
                assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == WRONG_KEY_CHALLENGE
                assert wrong.json() == refused
            for headers in ({}, {"Authorization": "Basic eDp5"}):  # no key at all: no error code (RFC 6750 3.1)
                missing = httpx.post(server.url + path, json=message, headers=headers)
                assert missing.status_code == 401 and missing.headers["www-authenticate"] == NO_KEY_CHALLENGE
                assert missing.json() == refused
        assert any(a.title == "A page ingested through the wired /mcp/" for a in web_assistant.articles())
        # the other doors keep their plain challenge
        assert httpx.get(server.url + "/api/articles", headers=bearer("not-a-key")).headers["www-authenticate"] == "Bearer"

        for path in OAUTH_DISCOVERY:
            for accept in ("application/json", "text/html,application/xhtml+xml"):  # as a browser asks, too
                found = httpx.get(server.url + path, headers={"Accept": accept, "MCP-Protocol-Version": "2025-06-18"})
                assert found.status_code == 404 and found.headers["content-type"] == "application/json", path
                assert found.json()["error"].startswith("this server has no OAuth: MCP over HTTP takes an API key")
                assert found.headers["access-control-allow-origin"] == "*"  # a browser client reads the 404
        registration = httpx.post(server.url + "/register", json={"redirect_uris": ["http://127.0.0.1:1/callback"]})
        assert registration.status_code == 404 and "no OAuth" in registration.json()["error"]
