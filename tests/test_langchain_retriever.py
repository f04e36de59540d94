"""The LangChain retriever (`Assistant.as_retriever`, `HybridRetriever`): LangChain's own standard suite, unmodified,
over a real index of the seed article; JSON-serialisable Documents; a user's own LCEL chain."""

from __future__ import annotations

import json

import pytest
from conftest import SEEDS
from langchain_core.documents import Document
from langchain_core.load import dumps, loads
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant.core import Assistant
from assistant.models import Filters
from assistant.retrieval import HybridRetriever

QUESTION = "What does JIG stand for?"
METADATA_KEYS = {"article_id", "title", "source", "url", "published", "start", "end", "score"}


# The suite reads its constructor parameters from properties, so the assistant (the session's seeded one: the seed
# article ingested into a temp dir) is put on the class by a fixture before any of its tests runs.
# The suite's one async test carries no marker of its own; the class's asyncio mark runs it (pytest-asyncio's
# strict mode), and pytest-asyncio's warning that the mark also lands on the sync tests is expected here.
@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore:The test <Function .* is marked with '@pytest.mark.asyncio':pytest.PytestWarning")
class TestHybridRetrieverStandard(RetrieversIntegrationTests):
    assistant: Assistant | None = None

    @pytest.fixture(autouse=True, scope="class")
    def _seeded(self, request, seeded_assistant):
        request.cls.assistant = seeded_assistant
        yield
        request.cls.assistant = None

    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        a = self.assistant
        assert a is not None, "the _seeded fixture puts the assistant on the class"
        return {"index": a.index, "embedder": a.embedder, "settings": a.settings}

    @property
    def retriever_query_example(self) -> str:
        return QUESTION


def format_docs(docs: list[Document]) -> str:
    """What a user's prompt would hold: numbered passages with their titles."""
    return "\n\n".join(f"[{i}] {d.metadata['title']}: {d.page_content}" for i, d in enumerate(docs, start=1))


def test_documents_metadata_round_trips_through_json(seeded_assistant):
    docs = seeded_assistant.as_retriever(k=3).invoke(QUESTION)
    assert len(docs) == 3
    for doc in docs:
        assert set(doc.metadata) == METADATA_KEYS
        assert json.loads(json.dumps(doc.metadata)) == doc.metadata
        assert doc.id and doc.metadata["end"] > doc.metadata["start"] >= 0
        assert isinstance(doc.metadata["score"], float)
    assert "Joint Implementation Group" in docs[0].page_content
    # LangChain's own serialiser (tracers, caches) takes them too, and gives back equal Documents.
    assert loads(dumps(docs), allowed_objects=[Document]) == docs
    # The spans point into the stored article text.
    article = seeded_assistant.article(docs[0].metadata["article_id"])
    assert article.text[docs[0].metadata["start"]:docs[0].metadata["end"]] == docs[0].page_content


def test_users_own_lcel_chain(seeded_assistant):
    retriever = seeded_assistant.as_retriever(k=2)
    chain = retriever | format_docs
    context = chain.invoke(QUESTION)
    assert context.startswith("[1] Kerry in Moscow") and "[2] " in context and "[3] " not in context
    assert "Joint Implementation Group" in context
    # The usual RAG shape: a dict of context and question, a prompt-builder after it; batch works too.
    rag = {"context": retriever | format_docs, "question": RunnablePassthrough()} | RunnableLambda(
        lambda x: f"Answer from the context only.\n\n{x['context']}\n\nQuestion: {x['question']}"
    )
    prompts = rag.batch([QUESTION, "Who will Kerry meet on Friday?"])
    assert len(prompts) == 2 and all("[1] Kerry in Moscow" in p for p in prompts)
    assert "Question: Who will Kerry meet on Friday?" in prompts[1]


def test_as_retriever_defaults_and_per_call_overrides(seeded_assistant):
    default = seeded_assistant.as_retriever()
    assert default.k == seeded_assistant.settings.top_k and default.filters is None
    assert len(default.invoke("Kerry")) == seeded_assistant.settings.top_k
    assert len(default.invoke("Kerry", k=1)) == 1
    article_id = seeded_assistant.articles()[0].id
    # filters: the retriever's default, replaced by a call's (a dict from JSON config works as the API's body does)
    nowhere = seeded_assistant.as_retriever(k=3, filters=Filters(article_ids=("no-such-article",)))
    assert nowhere.invoke("Kerry") == []
    assert len(nowhere.invoke("Kerry", filters={"article_ids": [article_id]})) == 3
    assert default.invoke("Kerry", filters={"sources": ["elsewhere"]}) == []
    # Every retriever over the index shares its BM25 index (one load, refreshed by an ingest).
    assert default.keyword_index() is seeded_assistant.retriever.keyword_index()


def test_typed_search_is_unchanged_for_the_chain(seeded_assistant):
    retriever = seeded_assistant.retriever
    assert retriever.k == seeded_assistant.settings.top_k and retriever.filters is None
    passages = retriever.search(QUESTION, filters=None, k=2)
    assert [p.rank for p in passages] == [1, 2]
    assert "Joint Implementation Group" in passages[0].chunk.text
    assert len(retriever.search(QUESTION)) == seeded_assistant.settings.top_k
    overview = retriever.article_passages(passages[0].chunk.article_id, 2)
    assert [p.chunk.start for p in overview] == sorted(p.chunk.start for p in overview)
    assert len(seeded_assistant.retrieve(QUESTION, k=1)) == 1


def test_a_handed_out_retriever_sees_an_ingest_at_once(make_assistant, tmp_path):
    assistant = make_assistant()
    assert assistant.ingest([SEEDS]).ok
    retriever = assistant.as_retriever(k=1)
    assert retriever.invoke(QUESTION)  # its BM25 index is loaded now (the one the assistant's retriever holds)
    (tmp_path / "harbour.txt").write_text(
        "Harbour museum reopens\n\nThe harbour museum reopened on Monday after a flood closed it for a year.\n"
    )
    assert assistant.ingest([tmp_path / "harbour.txt"]).ok
    # The ingest refreshed the shared BM25 index before returning: no stale index, no background rebuild.
    assert retriever.keyword_index().generation == assistant.index.manifest.generation
    [doc] = retriever.invoke("When did the harbour museum reopen?")
    assert doc.metadata["title"] == "Harbour museum reopens" and "Monday" in doc.page_content
