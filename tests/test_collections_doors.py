"""Keys scoped to collections (#38), on every door of a real `assistant serve` on 127.0.0.1, with real clients:
httpx for /api and the widget's requests, the openai SDK for /v1, the mcp client for /mcp, and the chat page's
own HTTP endpoints behind its admin sign-in.

The index is built through the server's own API by an unscoped admin: desk-a holds a bridge and a library
article, desk-b the tidal barrier article, which is the better match for QUESTION. A key scoped to desk-a must
never see desk-b's article (ask, stream, list, read, cite, /v1, MCP, widget), and an admin key scoped to desk-a
may neither upload into desk-b nor remove from it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time

import anyio
import httpx
import httpx2
import openai
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from servers import ServeProcess, client_of_its_own, gradio_call
from test_collections import BARRIER, BRIDGE, LIBRARY, QUESTION

from assistant.models import CollectionInfo

ADMIN = "admin-everything-0123456789"
ADMIN_A = "admin-desk-a-0123456789"
ADMIN_DEFAULT = "admin-default-0123456789"
WIDGET_A = "widget-desk-a-0123456789"
WIDGET_AB = "widget-desks-0123456789"
ORIGIN = "http://desk-a.example"
VISITOR = "visitor-token-0123456789abcdef"
NEW = ("Tram line extended to the harbour\n\nThe number 4 tram now runs to the harbour, the transport office said "
       "on Friday. The extension is 2.3 kilometres long.\n")

KEYS_FILE = f"""
admin_keys = ["{ADMIN}", {{ key = "{ADMIN_A}", collections = ["desk-a"] }}, {{ key = "{ADMIN_DEFAULT}", collections = ["default"] }}]

[[widget_keys]]
key = "{WIDGET_A}"
origins = ["{ORIGIN}"]
collections = ["desk-a"]

[[widget_keys]]
key = "{WIDGET_AB}"
origins = ["{ORIGIN}"]
collections = ["desk-a", "desk-b"]
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("collection-doors")
    (root / "keys.toml").write_text(KEYS_FILE)
    env = {"ASSISTANT_KEYS_FILE": str(root / "keys.toml"), "ASSISTANT_API_RATE_PER_MINUTE": "10000"}
    with ServeProcess(root, env) as server:
        with client_of_its_own(server.url, Authorization=f"Bearer {ADMIN}") as admin:
            for name in ("desk-a", "desk-b"):
                assert admin.post("/api/collections", json={"name": name}).status_code == 201
            for collection, files in (("desk-a", {"bridge.txt": BRIDGE, "library.txt": LIBRARY}),
                                      ("desk-b", {"barrier.txt": BARRIER})):
                sent = [("files", (name, text.encode())) for name, text in files.items()]
                done = admin.post(f"/api/articles?collection={collection}&wait=true", files=sent)
                assert done.status_code == 200 and done.json()["ok"], done.text
            server.ids = {a["title"].split()[0]: a["id"] for a in admin.get("/api/articles").json()}
        yield server


def http(served, key: str, **headers) -> httpx.Client:
    return client_of_its_own(served.url, Authorization=f"Bearer {key}", **headers)


def widget(served, key: str = WIDGET_A) -> httpx.Client:
    """As the widget's embed.js calls the API: its key, the site's Origin, the visitor's token."""
    return client_of_its_own(served.url, **{"X-API-Key": key, "Origin": ORIGIN, "X-Assistant-Visitor": VISITOR})


def sse(response: httpx.Response) -> list[tuple[str, dict]]:
    events, name = [], "message"
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            events.append((name, json.loads(line.removeprefix("data:").strip())))
    return events


def assert_no_desk_b(served, text: str) -> None:
    """Nothing of the barrier article: not its id, its title, or its facts."""
    assert served.ids["Harbour"] not in text and "Wendgate" not in text and "41 million" not in text, text[:2000]


# --- /api and the widget ----------------------------------------------------------------------------------

@pytest.mark.parametrize("caller", ["admin-a", "widget-a"])
def test_a_scoped_key_asks_and_streams_from_its_collection_only(served, caller):
    with (http(served, ADMIN_A) if caller == "admin-a" else widget(served)) as api:
        answered = api.post("/api/ask", json={"question": QUESTION})
        assert answered.status_code == 200, answered.text
        assert_no_desk_b(served, answered.text)
        cited = {c["article_id"] for c in answered.json()["citations"]}
        assert cited <= {served.ids["City"], served.ids["Central"]}
        with api.stream("POST", "/api/ask/stream", json={"question": QUESTION}) as streamed:
            events = sse(streamed)
        assert [name for name, _ in events][-2:] == ["answer", "done"]
        assert_no_desk_b(served, json.dumps(events))
        catalogue = api.post("/api/ask", json={"question": "What articles do you have?"}).json()
        assert catalogue["answer"].startswith("2 articles") and "Harbour" not in catalogue["answer"]
        # Naming the other collection is a clear 403, never an empty answer; an unknown one too (no probing).
        for name in ("desk-b", "nope"):
            refused = api.post("/api/ask", json={"question": QUESTION, "filters": {"collections": [name]}})
            assert refused.status_code == 403
            assert refused.json()["error"] == (f"filters.collections: this key may not use the collection {name!r}; "
                                               "it may use 'desk-a'")
        with api.stream("POST", "/api/ask/stream", json={"question": QUESTION,
                                                         "filters": {"collections": ["desk-b"]}}) as streamed:
            assert streamed.status_code == 403  # before the stream starts
        by_id = api.post("/api/ask", json={"question": QUESTION, "filters": {"article_ids": [served.ids["Harbour"]]}})
        assert by_id.status_code == 422 and "no article with id" in by_id.json()["error"]


def test_a_key_of_two_collections_picks_either_and_an_unscoped_one_sees_all(served):
    with widget(served, WIDGET_AB) as both:
        answered = both.post("/api/ask", json={"question": QUESTION}).json()
        assert "41 million" in answered["answer"]  # its scope holds the barrier: the better match wins
        only_a = both.post("/api/ask", json={"question": QUESTION, "filters": {"collections": ["desk-a"]}})
        assert_no_desk_b(served, only_a.text)
    with http(served, ADMIN) as admin:
        assert "41 million" in admin.post("/api/ask", json={"question": QUESTION}).json()["answer"]
        missing = admin.post("/api/ask", json={"question": QUESTION, "filters": {"collections": ["nope"]}})
        assert missing.status_code == 404
        assert missing.json()["error"] == "filters.collections: no collection named 'nope' (`assistant collections` lists them)"


def test_a_scoped_key_lists_and_reads_its_collection_only(served):
    barrier = served.ids["Harbour"]
    with http(served, ADMIN_A) as api:
        listed = api.get("/api/articles")
        assert {a["id"] for a in listed.json()} == {served.ids["City"], served.ids["Central"]}
        assert all(a["collections"] == ["desk-a"] for a in listed.json())
        assert api.get("/api/articles?collection=desk-b").status_code == 403
        assert api.get(f"/api/articles/{barrier}").status_code == 404  # the same 404 as a missing one
        assert api.get(f"/api/articles/{served.ids['City']}").json()["title"].startswith("City opens")
        assert [c["name"] for c in api.get("/api/collections").json()] == ["desk-a"]
    with widget(served) as reader:  # a widget key reads cited articles only, and only its collection's
        assert reader.get(f"/api/articles/{barrier}").status_code == 404
    with http(served, ADMIN) as admin:
        assert admin.get(f"/api/articles/{barrier}").status_code == 200
        assert admin.get("/api/articles?collection=nope").status_code == 404
        assert [c["name"] for c in admin.get("/api/collections").json()] == ["default", "desk-a", "desk-b"]


def test_an_upload_job_is_seen_only_by_keys_that_may_use_its_collection(served):
    """A job's report names files and article ids: a key scoped to desk-a gets 404 for a desk-b job, as if none."""
    with http(served, ADMIN) as admin:
        job = admin.post("/api/articles?collection=desk-b", files=[("files", ("memo.txt", NEW.encode()))]).json()
        assert admin.get(f"/api/jobs/{job['id']}").status_code == 200
    with http(served, ADMIN_A) as api:
        hidden = api.get(f"/api/jobs/{job['id']}")
        assert hidden.status_code == 404 and job["id"] in hidden.json()["error"]
        own = api.post("/api/articles", files=[("files", ("note.txt", NEW.replace("number 4", "number 9").encode()))]).json()
        assert api.get(f"/api/jobs/{own['id']}").status_code == 200
    with http(served, ADMIN) as admin:  # naming no collection: a known article stays wherever it is
        unnamed = admin.post("/api/articles", files=[("files", ("bulletin.txt", NEW.replace("number 4", "number 7").encode()))]).json()
    with http(served, ADMIN_DEFAULT) as api:
        assert api.get(f"/api/jobs/{unnamed['id']}").status_code == 404
    with http(served, ADMIN) as admin:
        for finished in (job, own, unnamed):  # wait for both, then leave the collections as they were
            deadline = time.monotonic() + 120
            while (state := admin.get(f"/api/jobs/{finished['id']}").json())["status"] not in ("done", "failed"):
                assert time.monotonic() < deadline
                time.sleep(0.2)
            for article_id in state["report"]["added"]:
                assert admin.delete(f"/api/articles/{article_id}").status_code == 200


def test_a_scoped_admin_adds_and_removes_in_its_collection_only(served):
    barrier = served.ids["Harbour"]
    with http(served, ADMIN_A) as api:
        into_b = api.post("/api/articles?collection=desk-b&wait=true", files=[("files", ("tram.txt", NEW.encode()))])
        assert into_b.status_code == 403 and "'desk-b'" in into_b.json()["error"]
        into_b_form = api.post("/api/articles?wait=true", files=[("files", ("tram.txt", NEW.encode()))],
                               data={"collection": "desk-b"})
        assert into_b_form.status_code == 403
        links_into_b = api.post("/api/articles", json={"urls": ["https://example.invalid/x"], "collection": "desk-b"})
        assert links_into_b.status_code == 403
        assert api.delete(f"/api/articles/{barrier}").status_code == 404
        assert api.delete(f"/api/articles/{barrier}?collection=desk-b").status_code == 403
        for attempt in (api.post("/api/collections", json={"name": "mine"}),
                        api.patch("/api/collections/desk-b", json={"name": "gone"}),
                        api.delete("/api/collections/desk-b?force=true")):
            assert attempt.status_code == 403 and "every collection" in attempt.json()["error"]
        # Its own collection, without naming it: the one it has.
        added = api.post("/api/articles?wait=true", files=[("files", ("tram.txt", NEW.encode()))])
        assert added.status_code == 200 and added.json()["ok"], added.text
        (tram,) = added.json()["added"]
        assert tram in {a["id"] for a in api.get("/api/articles").json()}
        assert api.delete(f"/api/articles/{tram}").json() == {"removed": tram}
    with http(served, ADMIN) as admin:
        assert barrier in {a["id"] for a in admin.get("/api/articles?collection=desk-b").json()}
        assert tram not in {a["id"] for a in admin.get("/api/articles").json()}


def test_an_unscoped_admin_manages_collections_over_the_api(served):
    with http(served, ADMIN) as admin:
        assert admin.post("/api/collections", json={"name": "desk-a"}).status_code == 409
        assert admin.post("/api/collections", json={"name": "bad name"}).status_code == 422
        assert admin.post("/api/collections", json={"name": "scratch"}).json()["articles"] == 0
        added = admin.post("/api/articles?collection=scratch&wait=true", files=[("files", ("tram.txt", NEW.encode()))])
        (tram,) = added.json()["added"]
        again = admin.post("/api/articles?collection=default&wait=true", files=[("files", ("tram.txt", NEW.encode()))])
        from assistant.store import JobRecord  # a report recorded before `joined` (jobs are kept 7 days) reads as none
        from assistant.web.schemas import JobOut

        old = {"added": [tram], "replaced": [], "unchanged": [], "failed": [], "chunks_added": 3, "ok": True}
        assert JobOut.of(JobRecord("j1", "done", 1, 1, old, None, 500, "host")).report.joined == []
        assert (again.json()["unchanged"], again.json()["joined"]) == ([tram], [tram])  # now in default too
        assert admin.delete(f"/api/articles/{tram}?collection=default").status_code == 200
        refused = admin.delete("/api/collections/scratch")
        assert refused.status_code == 409 and "'Tram line extended to the harbour'" in refused.json()["error"]
        assert admin.patch("/api/collections/scratch", json={"name": "scratch2"}).json()["name"] == "scratch2"
        gone = admin.delete("/api/collections/scratch2?force=true").json()
        assert gone == {"removed": "scratch2", "articles_removed": [tram], "articles_kept": []}
        assert admin.delete("/api/collections/default?force=true").status_code == 409
        # Names: 1-64 of [A-Za-z0-9._-], a final newline too ("$" alone takes one); case alone is no new name.
        assert admin.post("/api/collections", json={"name": "news\n"}).status_code == 422
        alike = admin.post("/api/collections", json={"name": "Desk-A"})
        assert alike.status_code == 409 and "'desk-a' exists; names must differ by more than case" in alike.json()["error"]
        renamed = admin.patch("/api/collections/desk-b", json={"name": "bad/name"})
        assert renamed.status_code == 422 and renamed.json()["error"].startswith("name: ")  # the body's field
        assert admin.patch("/api/collections/desk-b", json={"name": "desk-a"}).json()["error"].startswith("name: ")
        # An empty collection in the form or the JSON body is refused as in the query, never read as "none".
        for sent in ({"files": [("files", ("tram.txt", NEW.encode()))], "data": {"collection": ""}},
                     {"json": {"urls": ["https://example.invalid/x"], "collection": ""}}):
            empty = admin.post("/api/articles?wait=true", **sent)
            assert empty.status_code == 422 and empty.json()["error"].startswith("collection: '' is not a collection")


def test_an_upload_job_follows_its_collection_when_it_is_renamed(served):
    with http(served, ADMIN) as admin:
        assert admin.post("/api/collections", json={"name": "desk-c"}).status_code == 201
        job = admin.post("/api/articles?collection=desk-c",
                         files=[("files", ("pier.txt", NEW.replace("number 4", "number 6").encode()))]).json()
        deadline = time.monotonic() + 120
        while admin.get(f"/api/jobs/{job['id']}").json()["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert admin.patch("/api/collections/desk-c", json={"name": "desk-a-archive"}).status_code == 200
        assert admin.post("/api/collections", json={"name": "desk-c"}).status_code == 201  # a new one, the old name
        assert admin.get(f"/api/jobs/{job['id']}").status_code == 200
    with http(served, ADMIN_A) as api:  # desk-a: neither the renamed collection nor the new desk-c is its
        assert api.get(f"/api/jobs/{job['id']}").status_code == 404
    with http(served, ADMIN) as admin:
        for name in ("desk-c", "desk-a-archive"):
            assert admin.delete(f"/api/collections/{name}?force=true").status_code == 200


# --- /v1 --------------------------------------------------------------------------------------------------

def sdk(served, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.url + "/v1", api_key=key, max_retries=0,
                         http_client=httpx.Client(transport=httpx.HTTPTransport(), timeout=120))


def test_v1_offers_a_model_per_collection_and_a_scoped_key_gets_its_own(served):
    scoped = sdk(served, ADMIN_A)
    assert [m.id for m in scoped.models.list()] == [
        "article-assistant", "article-assistant-sources", "article-assistant/desk-a", "article-assistant-sources/desk-a"]
    assert scoped.models.retrieve("article-assistant/desk-a").id == "article-assistant/desk-a"
    with pytest.raises(openai.NotFoundError):
        scoped.models.retrieve("article-assistant/desk-b")
    everything = [m.id for m in sdk(served, ADMIN).models.list()]
    assert "article-assistant/desk-b" in everything and "article-assistant-sources/default" in everything
    question = [{"role": "user", "content": QUESTION}]
    for model in ("article-assistant", "article-assistant/desk-a", "article-assistant-sources"):
        reply = scoped.chat.completions.create(model=model, messages=question)
        assert_no_desk_b(served, reply.model_dump_json())
    stream = scoped.chat.completions.create(model="article-assistant", messages=question, stream=True)
    assert_no_desk_b(served, "".join(chunk.model_dump_json() for chunk in stream))
    with pytest.raises(openai.PermissionDeniedError, match="may not use the collection 'desk-b'") as outside:
        scoped.chat.completions.create(model="article-assistant/desk-b", messages=question)
    assert outside.value.param == "model"  # the field its message starts with; it was null
    with pytest.raises(openai.PermissionDeniedError, match="may not use the collection 'default'") as outside:
        scoped.chat.completions.create(model="article-assistant/default", messages=question)
    assert outside.value.param == "model"
    with pytest.raises(openai.PermissionDeniedError, match="filters.collections: this key may not") as outside:
        scoped.completions.create(model="article-assistant", prompt=QUESTION,
                                  extra_body={"filters": {"collections": ["desk-b"]}})
    assert outside.value.param == "filters.collections"
    with pytest.raises(openai.NotFoundError, match="does not exist"):
        sdk(served, ADMIN).chat.completions.create(model="article-assistant/nope", messages=question)
    narrowed = sdk(served, ADMIN).chat.completions.create(model="article-assistant/desk-a", messages=question)
    assert_no_desk_b(served, narrowed.model_dump_json())
    best = sdk(served, ADMIN).completions.create(model="article-assistant/desk-b", prompt=QUESTION)
    assert "41 million" in best.choices[0].text
    widget_reply = httpx.post(served.url + "/v1/chat/completions", timeout=120,
                              headers={"X-API-Key": WIDGET_A, "Origin": ORIGIN},
                              json={"model": "article-assistant", "messages": question})
    assert widget_reply.status_code == 200
    assert_no_desk_b(served, widget_reply.text)


# --- MCP over HTTP ----------------------------------------------------------------------------------------

def test_mcp_tools_of_a_scoped_key_reach_its_collection_only(served):
    barrier = served.ids["Harbour"]

    async def scenario():
        transport = streamable_http_client(served.url + "/mcp", http_client=httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {ADMIN_A}"}, timeout=240))
        async with Client(transport) as client:
            passages = (await client.call_tool("search", {"query": QUESTION, "k": 10})).structured_content
            assert passages["passages"] and all(p["article_id"] != barrier for p in passages["passages"])
            answer = await client.call_tool("ask", {"question": QUESTION})
            assert not answer.is_error
            assert_no_desk_b(served, json.dumps(answer.structured_content) + "".join(b.text for b in answer.content))
            listed = (await client.call_tool("list_articles", {})).structured_content["articles"]
            assert {a["id"] for a in listed} == {served.ids["City"], served.ids["Central"]}
            collections = (await client.call_tool("list_collections", {})).structured_content["collections"]
            assert [c["name"] for c in collections] == ["desk-a"]
            assert set(collections[0]) == {f.name for f in dataclasses.fields(CollectionInfo)}  # as /api/collections
            hidden = await client.call_tool("get_article", {"article_id": barrier})
            assert hidden.is_error and "no article with id" in hidden.content[0].text
            other = await client.call_tool("ask", {"question": QUESTION, "collection": "desk-b"})
            assert other.is_error and "may not use the collection 'desk-b'" in other.content[0].text
            into_b = await client.call_tool("ingest", {"urls": ["https://example.invalid/x"], "collection": "desk-b"})
            assert into_b.is_error and "may not use the collection 'desk-b'" in into_b.content[0].text
        unscoped = streamable_http_client(served.url + "/mcp", http_client=httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {ADMIN}"}, timeout=240))
        async with Client(unscoped) as client:
            found = (await client.call_tool("search", {"query": QUESTION, "collection": "desk-b"})).structured_content
            assert found["passages"][0]["article_id"] == barrier

    anyio.run(scenario)


# --- the chat page ----------------------------------------------------------------------------------------

def test_the_chat_page_of_a_signed_in_scoped_admin_answers_from_its_collection(served):
    with client_of_its_own(served.url) as page:
        assert page.post("/sign-in", data={"key": ADMIN_A}, follow_redirects=False).status_code == 303
        event, (chat, sources, *_) = gradio_call(page, "ask", [QUESTION, [], [], 0])
        assert event == "complete" and chat[-1]["role"] == "assistant"
        assert_no_desk_b(served, json.dumps(chat[-1]) + json.dumps(sources))
    with client_of_its_own(served.url) as page:  # signed in unscoped: every collection, as before
        assert page.post("/sign-in", data={"key": ADMIN}, follow_redirects=False).status_code == 303
        event, (chat, *_) = gradio_call(page, "ask", [QUESTION, [], [], 0])
        assert "41 million" in json.dumps(chat)


@pytest.mark.browser
def test_the_chat_page_reader_opens_only_what_the_browser_may_read_now(served):
    """The reader reads the article when [n] is clicked: one moved out of the key's collections since is not shown."""
    bridge = served.ids["City"]
    with http(served, ADMIN) as admin:  # the bridge story in desk-b too, so it stays in the index when desk-a drops it
        assert admin.post("/api/articles?collection=desk-b&wait=true",
                          files=[("files", ("bridge.txt", BRIDGE.encode()))]).json()["unchanged"] == [bridge]
    with client_of_its_own(served.url) as page:
        page.get("/")  # the page's session cookie: whose answers are whose
        assert page.post("/sign-in", data={"key": ADMIN_A}, follow_redirects=False).status_code == 303
        event, (chat, *_) = gradio_call(page, "ask", ["How much did the Ostra bridge cost?", [], [], 0])
        said = " ".join(part["text"] for part in chat[-1]["content"])
        answer_id = re.search(r'href="#cite-([0-9a-f]{32})-1"', said).group(1)
        _, (_, reader) = gradio_call(page, "open_citation", [f"{answer_id}-1"])
        assert "55 million" in reader
        try:
            with http(served, ADMIN) as admin:
                assert admin.delete(f"/api/articles/{bridge}?collection=desk-a").json()["left_collections"] == ["desk-a"]
            _, (_, reader) = gradio_call(page, "open_citation", [f"{answer_id}-1"])
            assert "no longer here" in reader and "55 million" not in reader and "Ostra" not in reader
        finally:
            with http(served, ADMIN) as admin:  # as it was: desk-a's only
                assert admin.post("/api/articles?collection=desk-a&wait=true",
                                  files=[("files", ("bridge.txt", BRIDGE.encode()))]).status_code == 200
                assert admin.delete(f"/api/articles/{bridge}?collection=desk-b").status_code == 200


def test_the_chat_page_picker_and_the_articles_panel_of_a_signed_in_admin(served, artifacts_dir):
    """In a real browser: a signed-in admin picks a collection and is answered from it only; a scoped admin is
    offered its own collection only; the Articles panel shows each feed with its error."""
    from conftest import chromium_path
    from playwright.sync_api import expect, sync_playwright

    with http(served, ADMIN) as admin:  # a feed that fails: its error is what the panel must show
        feed = admin.post("/api/feeds", json={"url": "http://10.0.0.1/news.rss", "collection": "desk-a",
                                              "every": "1h"}).json()
        polled = admin.post(f"/api/feeds/{feed['id']}/poll").json()
        assert "private or local address" in polled["last_error"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"])
        try:
            for key, offered in ((ADMIN, ["default", "desk-a", "desk-b"]), (ADMIN_A, ["desk-a"])):
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.goto(served.url + "/sign-in")
                page.fill("#key", key)
                page.click("button[type=submit]")
                page.wait_for_url(served.url + "/")
                picker = page.locator("#collections")
                expect(picker).to_be_visible(timeout=60_000)
                page.wait_for_function("() => document.querySelector('.pending, .generating') === null",
                                       timeout=60_000)
                picker.locator("input").click()
                options = page.get_by_role("option")
                expect(options).to_have_count(len(offered))
                assert sorted(options.all_inner_texts()) == offered
                page.get_by_role("option", name="desk-a", exact=True).click()
                page.keyboard.press("Escape")
                page.wait_for_function("() => document.querySelector('.pending, .generating') === null",
                                       timeout=60_000)
                box = page.locator("#question textarea")
                box.fill(QUESTION)
                box.press("Enter")
                bot = page.locator("#chat [data-testid=bot]").last
                expect(bot).to_contain_text("[1]", timeout=60_000)
                assert "41 million" not in bot.inner_text()
                page.locator("#articles-box").get_by_text("Articles").first.click()
                expect(page.locator("#feeds")).to_contain_text("private or local address", timeout=30_000)
                page.screenshot(path=str(artifacts_dir / f"collections-picker-{key[:8]}.png"), full_page=True)
                page.context.close()
        finally:
            browser.close()
    with http(served, ADMIN) as admin:
        admin.delete(f"/api/feeds/{feed['id']}")


def test_a_scoped_admin_reads_the_feedback_of_its_collection_only(served):
    with http(served, ADMIN) as admin:
        other = admin.post("/api/ask", json={"question": QUESTION, "filters": {"collections": ["desk-b"]}}).json()
        assert admin.post("/api/feedback", json={"answer_id": other["id"], "rating": "up"}).status_code == 201
    with http(served, ADMIN_A) as scoped:
        mine = scoped.post("/api/ask", json={"question": "How much did the Ostra bridge cost?"}).json()
        assert scoped.post("/api/feedback", json={"answer_id": mine["id"], "rating": "up"}).status_code == 201
        seen = {f["answer_id"] for f in scoped.get("/api/feedback").json()}
        assert mine["id"] in seen and other["id"] not in seen
    with http(served, ADMIN) as admin:  # a conversation that moved from desk-b's article to desk-a's
        started = admin.post("/api/ask", json={"question": QUESTION, "conversation_id": "new",
                                               "filters": {"collections": ["desk-b"]}}).json()
        later = admin.post("/api/ask", json={"question": "How much did the Ostra bridge cost?",
                                             "conversation_id": started["conversation_id"],
                                             "filters": {"collections": ["desk-a"]}}).json()
        assert admin.post("/api/feedback", json={"answer_id": later["id"], "rating": "up"}).status_code == 201
        assert [f["history"] for f in admin.get("/api/feedback").json() if f["answer_id"] == later["id"]] == [
            [{"question": QUESTION, "answer": started["answer"]}]]
    with http(served, ADMIN_A) as scoped:  # desk-b's question and answer are not desk-a's to read
        [record] = [f for f in scoped.get("/api/feedback").json() if f["answer_id"] == later["id"]]
        assert record["history"] == [] and started["answer"] not in str(record)


def test_the_listings_and_a_read_take_collection_and_a_missing_feed_is_404(served):
    """`?collection=` is taken by every listing and read the docs name; a feed that is not there is a 404 as an
    article is, and an article asked out of a collection it is not in is named as not in that collection."""
    bridge, barrier = served.ids["City"], served.ids["Harbour"]
    with http(served, ADMIN) as admin:
        assert [c["name"] for c in admin.get("/api/collections?collection=desk-a").json()] == ["desk-a"]
        assert admin.get("/api/collections?collection=nope").status_code == 404
        assert admin.get(f"/api/articles/{bridge}?collection=desk-a").status_code == 200
        elsewhere = admin.get(f"/api/articles/{bridge}?collection=desk-b")
        assert elsewhere.status_code == 404
        feed = admin.post("/api/feeds", json={"url": "http://10.0.0.1/desk.rss", "collection": "desk-a",
                                              "every": "1h"}).json()
        assert feed["id"] in {f["id"] for f in admin.get("/api/feeds?collection=desk-a").json()}
        assert feed["id"] not in {f["id"] for f in admin.get("/api/feeds?collection=desk-b").json()}
        assert admin.delete(f"/api/feeds/{feed['id']}").status_code == 200
        for gone in (admin.delete(f"/api/feeds/{feed['id']}"), admin.post(f"/api/feeds/{feed['id']}/poll")):
            assert gone.status_code == 404 and gone.json() == {"error": f"feed: no feed {feed['id']} "
                                                                        "(`assistant feeds list`)"}
        not_in = admin.delete(f"/api/articles/{barrier}?collection=desk-a")
        assert not_in.status_code == 404
        assert not_in.json()["error"] == f"article_id: no article with id {barrier!r} in collection 'desk-a'"
        assert admin.get(f"/api/articles/{barrier}").status_code == 200  # untouched
