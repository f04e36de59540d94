"""Collections (#38): named sets of articles, on a real Chroma index with the real embedder.

An article is in one or more collections; `default` exists from the start and an index from before
collections keeps every article in it (SQLite and PostgreSQL). A scope of collections is applied where the
passages are fetched: the vector partitions and the keyword index's mask, checked against the manifest, so
nothing outside it is retrieved even when it matches better. The doors (HTTP, /v1, MCP, widget, chat page)
are tested in test_collections_doors.py.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess

import pytest
import sqlalchemy as sa
from conftest import ROOT
from servers import CLI

from assistant import database, errors
from assistant.core import Assistant
from assistant.index.manifest import Manifest
from assistant.models import Filters
from assistant.settings import load_settings
from bench.backing_servers import PostgresServer

BRIDGE = ("City opens the Ostra bridge\n\n"
          "The Ostra bridge over the Wend estuary opened to traffic on Monday. It cost 55 million euros and carries "
          "two tram lines as well as cars. The mayor cut the ribbon at nine in the morning.\n")
LIBRARY = ("Central library reopens after repairs\n\n"
           "The central library reopened on Saturday after two years of repairs to its roof. Its reading room now "
           "seats four hundred people, and the children's floor has a new theatre.\n")
BARRIER = ("Harbour council approves tidal barrier\n\n"
           "The harbour council voted on Tuesday to build the Wendgate tidal barrier across the mouth of the Wend "
           "estuary. The barrier will cost 41 million euros and is due to open in 2031, the council's engineer "
           "said.\n")
QUESTION = "How much will the Wendgate tidal barrier cost?"  # the barrier article (desk-b) is the best match


def write(folder, articles: dict[str, str]):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in articles.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def desks(make_assistant, tmp_path):
    """An index with two collections: desk-a (bridge, library) and desk-b (the tidal barrier)."""
    assistant = make_assistant()
    assistant.create_collection("desk-a")
    assistant.create_collection("desk-b")
    assert assistant.ingest([write(tmp_path / "a", {"bridge.txt": BRIDGE, "library.txt": LIBRARY})],
                            collection="desk-a").ok
    assert assistant.ingest([write(tmp_path / "b", {"barrier.txt": BARRIER})], collection="desk-b").ok
    return assistant


def ids_in(assistant: Assistant, collection: str) -> set[str]:
    return {a.id for a in assistant.articles([collection])}


def test_a_new_index_has_default_and_ingest_without_a_collection_lands_there(make_assistant, tmp_path):
    assistant = make_assistant()
    assert [c.name for c in assistant.collections()] == ["default"]
    assert assistant.ingest([write(tmp_path / "a", {"bridge.txt": BRIDGE})]).ok
    (info,) = assistant.articles()
    assert info.collections == ("default",)
    assert [(c.name, c.articles) for c in assistant.collections()] == [("default", 1)]
    # One collection: nothing is copied into partitions (an index that never uses collections pays nothing).
    assert not assistant.index.partitioned()
    with pytest.raises(errors.CollectionNotFound, match="no collection named 'sport'"):
        assistant.ingest([tmp_path / "a"], collection="sport")
    with pytest.raises(errors.InvalidRequest, match="is not a collection name"):
        assistant.create_collection("no spaces")


def test_a_scope_never_retrieves_another_collection_even_where_it_matches_better(desks):
    barrier = next(iter(ids_in(desks, "desk-b")))
    unscoped = desks.retrieve(QUESTION)
    assert unscoped[0].chunk.article_id == barrier  # the better match, when nothing is out of scope
    for k in (1, 5, 20):
        passages = desks.retrieve(QUESTION, Filters(collections=("desk-a",)), k=k)
        assert passages and {p.chunk.article_id for p in passages} <= ids_in(desks, "desk-a")
    # A word only the barrier article holds: the keyword side finds it unscoped, never within desk-a.
    assert any(p.chunk.article_id == barrier for p in desks.retrieve("Wendgate"))
    assert all(p.chunk.article_id != barrier for p in desks.retrieve("Wendgate", Filters(collections=("desk-a",))))
    answer = desks.ask(QUESTION, filters=Filters(collections=("desk-a",)))
    assert "41 million" not in answer.answer
    assert {c.article_id for c in answer.citations} <= ids_in(desks, "desk-a")
    assert {p.chunk.article_id for p in answer.passages} <= ids_in(desks, "desk-a")
    # Counted: a catalogue of a scope lists that scope's articles only.
    catalogue = desks.ask("What articles do you have?", filters=Filters(collections=("desk-a",)))
    assert "2 articles" in catalogue.answer and "barrier" not in catalogue.answer.lower()
    # Both collections: both partitions, each article once.
    both = desks.retrieve(QUESTION, Filters(collections=("desk-a", "desk-b")), k=10)
    assert both[0].chunk.article_id == barrier and len({p.chunk.id for p in both}) == len(both)


def test_an_article_outside_the_scope_is_not_found_by_id_nor_by_link(desks):
    barrier = next(iter(ids_in(desks, "desk-b")))
    with pytest.raises(errors.ArticleNotFound):
        desks.article(barrier, ["desk-a"])
    assert desks.article(barrier, ["desk-b"]).id == barrier
    with pytest.raises(errors.InvalidRequest, match="no article with id .* in the collection"):
        desks.ask("Summarise this article", filters=Filters(article_ids=(barrier,), collections=("desk-a",)))
    with pytest.raises(errors.ArticleNotFound):
        desks.remove(barrier, ["desk-a"])
    assert barrier in ids_in(desks, "desk-b")


def test_the_door_writes_a_scoped_callers_collections_in_and_refuses_others(desks):
    assert desks.scoped(None, ["desk-a"]).collections == ("desk-a",)
    assert desks.scoped(Filters(article_ids=("x",)), ["desk-a", "gone"]).collections == ("desk-a",)
    assert desks.scoped(None, None) == Filters()  # unscoped: every collection, as before
    with pytest.raises(errors.OutOfScope, match="may not use the collection 'desk-b'; it may use 'desk-a'"):
        desks.scoped(Filters(collections=("desk-b",)), ["desk-a"])
    with pytest.raises(errors.OutOfScope):  # 403 whether or not it exists: names are not to be probed
        desks.scoped(Filters(collections=("nope",)), ["desk-a"])
    with pytest.raises(errors.CollectionNotFound, match="no collection named 'nope'"):
        desks.scoped(Filters(collections=("nope",)), None)
    with pytest.raises(errors.CollectionNotFound):  # a key whose every collection is gone: 404, not everything
        desks.scoped(None, ["gone"])


def test_memberships_join_leave_and_removing_a_collection_says_what_goes(desks, tmp_path):
    bridge = next(a.id for a in desks.articles() if a.title.startswith("City opens"))
    # The same file named into desk-b: unchanged, not read again, and now in both.
    report = desks.ingest([tmp_path / "a" / "bridge.txt"], collection="desk-b")
    assert report.unchanged == report.joined == [bridge] and not report.added
    assert report.counts() == "added 0, replaced 0, unchanged 1 (1 put in the collection), failed 0"
    assert desks.article_collections(bridge) == ["desk-a", "desk-b"]
    assert desks.ingest([tmp_path / "a" / "bridge.txt"], collection="desk-b").joined == []  # in it already
    found = desks.retrieve("Ostra bridge trams", Filters(collections=("desk-b",)))
    assert found[0].chunk.article_id == bridge  # its vectors were copied into desk-b's partition
    # A scoped removal takes it out of that collection only while another holds it.
    assert desks.remove(bridge, ["desk-b"]) is False
    assert desks.article_collections(bridge) == ["desk-a"]
    assert all(p.chunk.article_id != bridge for p in desks.retrieve("Ostra bridge", Filters(collections=("desk-b",))))
    desks.add_to_collection([bridge], "desk-b")
    with pytest.raises(errors.CollectionConflict) as refused:
        desks.remove_collection("desk-a")
    assert "3 article" not in str(refused.value) and "'Central library reopens after repairs'" in str(refused.value)
    assert "removes the 1 in no other collection" in str(refused.value)
    folders = set((desks.settings.index_dir / "chroma").iterdir())
    removed, kept = desks.remove_collection("desk-a", force=True)
    assert kept == [bridge] and len(removed) == 1
    gone = folders - set((desks.settings.index_dir / "chroma").iterdir())
    assert len(gone) == 1  # desk-a's vector files, not left on disk (Chroma leaves them)
    assert [c.name for c in desks.collections()] == ["default", "desk-b"]
    assert desks.article_collections(bridge) == ["desk-b"]
    assert desks.status().vectors == len(desks.chunks())  # the library's vectors went with it
    with pytest.raises(errors.CollectionConflict, match="cannot be removed"):
        desks.remove_collection("default", force=True)
    renamed = desks.rename_collection("desk-b", "harbour")
    assert renamed.name == "harbour" and renamed.articles == 2
    assert desks.retrieve(QUESTION, Filters(collections=("harbour",)))[0].title.startswith("Harbour")


def test_partitions_come_with_the_second_collection_and_a_stray_copy_never_widens_a_scope(desks, tmp_path):
    index = desks.index
    assert index.partitioned()
    barrier = next(iter(ids_in(desks, "desk-b")))
    # A copy of the barrier's vectors in desk-a's partition, as a crash between a membership's end and the
    # deletion of its copies would leave: the manifest says it is not in desk-a, so desk-a never returns it.
    ids = index.manifest.chunk_ids(barrier)
    stored = index.store.vectors(ids)
    desk_a = index.manifest.collection_ids()["desk-a"]
    index.store.partition(f"c{desk_a}").add(ids, __import__("numpy").stack([stored[i] for i in ids]),
                                            [{"article_id": barrier, "source": "x", "published": 0}] * len(ids))
    assert all(p.chunk.article_id != barrier for p in desks.retrieve(QUESTION, Filters(collections=("desk-a",))))
    with index.writing():
        assert index.sweep_orphans() == len(ids)  # and the next writer sweeps it


def test_an_interrupted_copy_into_partitions_is_finished_and_scoped_search_works_meanwhile(make_assistant, tmp_path):
    assistant = make_assistant()
    assert assistant.ingest([write(tmp_path / "a", {"bridge.txt": BRIDGE, "barrier.txt": BARRIER})]).ok
    index = assistant.index
    # The second collection's copy killed before it finished: the flag is off and the partition is empty.
    index.manifest.create_collection("desk-b")
    assert not index.partitioned()
    barrier = next(a.id for a in assistant.articles() if a.title.startswith("Harbour"))
    assistant.add_to_collection([barrier], "desk-b")
    found = assistant.retrieve(QUESTION, Filters(collections=("desk-b",)))  # filtered from the main vectors
    assert {p.chunk.article_id for p in found} == {barrier}
    assert assistant.ingest([write(tmp_path / "c", {"library.txt": LIBRARY})]).ok  # the next writer copies
    assert index.partitioned()
    default = index.manifest.collection_ids()["default"]
    assert index.store.partition(f"c{default}").count() == len(index.manifest.member_chunk_ids(default))
    assert {p.chunk.article_id for p in assistant.retrieve(QUESTION, Filters(collections=("desk-b",)))} == {barrier}


# --- an index from before collections ------------------------------------------------------------------------

def test_an_sqlite_index_from_before_collections_keeps_every_article_in_default(make_assistant, tmp_path):
    assistant = make_assistant()
    assert assistant.ingest([write(tmp_path / "a", {"bridge.txt": BRIDGE, "barrier.txt": BARRIER})]).ok
    before = assistant.ask(QUESTION).public()
    with sqlite3.connect(tmp_path / "index" / "manifest.sqlite3") as db:  # as manifest_0002 left it
        db.execute("DROP TABLE collections")
        db.execute("DROP TABLE memberships")
        db.execute("DROP TABLE feeds")
        db.execute("UPDATE alembic_version SET version_num = 'manifest_0002' WHERE version_num LIKE 'manifest%'")
    database._migrated.clear()  # as a new process would
    reopened = Assistant(load_settings(index_dir=tmp_path / "index"))
    assert [(c.name, c.articles) for c in reopened.collections()] == [("default", 2)]
    assert reopened.ask(QUESTION).public() == before
    assert reopened.ask(QUESTION, filters=Filters(collections=("default",))).public() == before


def test_what_a_version_from_before_collections_writes_is_mended_by_the_next_ingest(desks, tmp_path):
    """Such a version (no migrations: it opens an upgraded index) knows no memberships and no partitions."""
    index, desk_a = desks.index, desks.index.manifest.collection_ids()["desk-a"]
    library = next(a.id for a in desks.articles(["desk-a"]) if a.title.startswith("Central library"))
    bridge = next(iter(ids_in(desks, "desk-a") - {library}))
    # Its `remove` deleted the article's rows and vectors; the memberships stayed (it sets no foreign keys).
    with sqlite3.connect(tmp_path / "index" / "manifest.sqlite3") as db:
        db.execute("DELETE FROM chunks WHERE article_id = ?", (library,))
        db.execute("DELETE FROM articles WHERE id = ?", (library,))
    index.store.delete([c for c in index.store.ids() if c.startswith(library.rsplit("-", 1)[0])])
    # Its re-ingest of a changed article wrote the new chunks' vectors to the main store only.
    part = index.store.partition(f"c{desk_a}")
    part.delete(list(index.manifest.chunk_ids(bridge)))

    def found_by_meaning() -> set[str]:  # the dense side alone (the keyword side reads the manifest)
        hits = index.dense_search(desks.embedder.encode_one("a river crossing"), 5, None, index.scope(["desk-a"]))
        return {index.manifest.chunks([h.id for h in hits])[h.id].article_id for h in hits}

    assert bridge not in found_by_meaning()

    assert desks.ingest([write(tmp_path / "c", {"note.txt": "Ferry note\n\nThe night ferry runs on Fridays.\n"})]).ok
    assert [(c.name, c.articles) for c in desks.collections()] == [("default", 1), ("desk-a", 1), ("desk-b", 1)]
    assert part.ids() == index.manifest.member_chunk_ids(desk_a)  # the bridge's copies are back, nothing else
    assert found_by_meaning() == {bridge}
    # The removed article, ingested again without a collection, lands in default, not where it was.
    again = desks.ingest([tmp_path / "a" / "library.txt"])
    assert again.ok and desks.article_collections(again.added[0]) == ["default"]


@pytest.fixture(scope="module")
def postgres():
    with PostgresServer() as server:
        yield server


def test_a_postgres_index_from_before_collections_keeps_every_article_in_default(postgres):
    url = postgres.create_database("before_collections")
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(database.MIGRATIONS))
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "manifest_0002")
        connection.execute(sa.text(
            "INSERT INTO articles (id, title, source, content_hash, text, ingested_at) VALUES "
            "('a-1', 'One', 'one.txt', 'h1', 'One.', 'then'), ('a-2', 'Two', 'two.txt', 'h2', 'Two.', 'then')"))
    manifest = Manifest(url)  # opening it brings it to the newest revision
    assert [(c.name, c.articles) for c in manifest.collections()] == [("default", 2)]
    assert [a.collections for a in manifest.articles()] == [("default",), ("default",)]
    # The sequence behind collection ids is right after the migration's insert: a new one gets a new id.
    assert manifest.create_collection("desk-b") != manifest.collection_id("default")


# --- the command line --------------------------------------------------------------------------------------

def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_command_line_creates_lists_renames_and_removes_collections(tmp_path):
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "index")}
    folder = write(tmp_path / "a", {"bridge.txt": BRIDGE, "barrier.txt": BARRIER})
    assert cli(env, "collections", "create", "desk-a").returncode == 0
    done = cli(env, "ingest", str(folder), "--collection", "desk-a")
    assert done.returncode == 0, done.stderr
    missing = cli(env, "ingest", str(folder), "--collection", "sport")
    assert missing.returncode == 1 and "no collection named 'sport'" in missing.stderr
    listed = cli(env, "collections")
    assert listed.returncode == 0 and "desk-a" in listed.stdout and "default" in listed.stdout
    in_a = cli(env, "list", "--collection", "desk-a", "--json")
    assert {tuple(a["collections"]) for a in __import__("json").loads(in_a.stdout)} == {("desk-a",)}
    # An empty --collection (an unset "$DESK") is an error, never "every collection"; a bad one is one line.
    some_id = __import__("json").loads(in_a.stdout)[0]["id"]
    for args in (("remove", some_id, "--collection", ""), ("list", "--collection", ""),
                 ("ask", "What does the bridge cost?", "--collection", "a/b")):
        refused = cli(env, *args)
        assert refused.returncode == 1 and "--collection: " in refused.stderr and "is not a collection name" in \
            refused.stderr and "Traceback" not in refused.stderr, refused.stderr
    assert cli(env, "list", "--json").stdout.count('"id"') == 2  # nothing was removed
    refused = cli(env, "collections", "remove", "desk-a")
    assert refused.returncode == 1 and "--force" in refused.stderr and "'Harbour council approves" in refused.stderr
    assert cli(env, "collections", "rename", "desk-a", "harbour").returncode == 0
    gone = cli(env, "collections", "remove", "harbour", "--force")
    assert gone.returncode == 0 and "2 article(s) removed from the index" in gone.stderr
    assert cli(env, "list", "--json").stdout.strip() == "[]"


def test_eval_asks_within_a_collection_as_a_scoped_key_would(tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus / "desk-a", {"bridge.txt": BRIDGE, "library.txt": LIBRARY})
    write(corpus / "desk-b", {"barrier.txt": BARRIER})
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        '{"id": "q1", "question": "How much did the Ostra bridge cost?", "answers": ["55 million euros"], '
        '"article": "bridge.txt", "answerable": true}\n'
        f'{{"id": "q2", "question": "{QUESTION}", "answers": ["41 million euros"], "article": "barrier.txt", '
        '"answerable": true}\n')
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
           "ASSISTANT_EVAL_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "out"
    done = cli(env, "eval", str(questions), "--corpus", str(corpus), "--collection", "desk-a", "--out", str(out))
    assert done.returncode == 0, done.stderr
    results = [__import__("json").loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    retrieved = [p["source"] for r in results for p in r["retrieved"]]
    assert retrieved and all("/desk-a/" in source for source in retrieved)
    assert "55 million" in results[0]["answer"] and "41 million" not in results[1]["answer"]
    assert __import__("json").loads((out / "summary.json").read_text())["collection"] == "desk-a"
    wrong = cli(env, "eval", str(questions), "--corpus", str(corpus), "--collection", "desk-c", "--out", str(out))
    assert wrong.returncode == 2 and "has no folder 'desk-c'" in wrong.stderr


def test_a_scope_cached_by_one_process_follows_a_change_made_by_another(desks):
    """Index.scope caches a scope while the manifest's `scopes` count holds still; every change of what a
    collection holds moves it, whichever process (or replica) made it."""
    other = Assistant(desks.settings, embedder=desks.embedder, store=desks.index.store)
    bridge = next(a.id for a in desks.articles() if a.title.startswith("City opens"))
    assert bridge in desks.index.scope(["desk-a"]).articles  # cached here
    other.add_to_collection([bridge], "desk-b")
    assert other.remove(bridge, ["desk-a"]) is False  # taken out of desk-a by the other one
    assert bridge not in desks.index.scope(["desk-a"]).articles
    assert all(p.chunk.article_id != bridge for p in desks.retrieve("Ostra bridge trams", Filters(collections=("desk-a",))))
    other.rename_collection("desk-b", "harbour")
    with pytest.raises(errors.CollectionNotFound):
        desks.index.scope(["desk-b"])


def test_an_article_written_by_an_older_replica_mid_upgrade_is_filed_in_default_by_the_next_ingest(desks, tmp_path):
    barrier = next(iter(ids_in(desks, "desk-b")))
    from assistant.index.manifest import memberships

    with desks.index.manifest.engine.begin() as db:  # as a replica from before collections leaves an article
        db.execute(sa.delete(memberships).where(memberships.c.article_id == barrier))
    assert desks.article_collections(barrier) == []
    assert desks.ingest([write(tmp_path / "c", {"tram.txt": BRIDGE.replace("Ostra", "Tram")})]).ok
    assert desks.article_collections(barrier) == ["default"]
    assert desks.retrieve(QUESTION, Filters(collections=("default",)))[0].chunk.article_id == barrier


def test_an_article_named_by_its_title_is_found_within_the_scope_only(desks):
    barrier = next(iter(ids_in(desks, "desk-b")))
    asked = 'Summarize the article "Harbour council approves tidal barrier"'
    unscoped = desks.ask(asked)
    assert {p.chunk.article_id for p in unscoped.passages} == {barrier}  # named by its title, it is the one
    scoped = desks.ask(asked, filters=Filters(collections=("desk-a",)))
    assert scoped.passages and {p.chunk.article_id for p in scoped.passages} <= ids_in(desks, "desk-a")
    assert "41 million" not in scoped.answer and "Harbour council" not in scoped.answer
