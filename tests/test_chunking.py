"""Chunk stage: token budgets, overlap, and character offsets that point into the article."""

from __future__ import annotations

from conftest import SEED_ARTICLE

from assistant.embeddings import get_embedder
from assistant.ingest.chunking import chunk_article
from assistant.ingest.loaders import load_article
from assistant.text import split_sentences


def _count(texts):
    return get_embedder().count_tokens(texts)


def test_chunks_fit_the_token_budget_and_overlap():
    article = load_article(SEED_ARTICLE, max_bytes=10**6)
    chunks = chunk_article(article, _count, size=96, overlap=48)
    assert len(chunks) > 3
    for chunk in chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text
        # a single sentence may exceed nothing: long ones are cut to the budget
        assert _count([chunk.text])[0] <= 96 + 8  # tokenising a join can add a token or two
    pairs = list(zip(chunks, chunks[1:]))
    for first, second in pairs:
        assert first.start < second.start, "chunking always advances"
        assert article.text[first.end : second.start].strip() == "", "no text falls between chunks"
    # a sentence is shared when it fits the overlap budget
    assert sum(second.start < first.end for first, second in pairs) >= len(pairs) // 2
    assert chunks[0].start == 0 and chunks[-1].end == len(article.text)


def test_a_sentence_longer_than_the_budget_is_cut():
    from assistant.models import Article

    text = " ".join(f"word{i}" for i in range(400)) + "."
    article = Article(id="a", title="t", text=text, source="s", content_hash="h" * 12)
    chunks = chunk_article(article, _count, size=32, overlap=0)
    assert len(chunks) > 5
    assert all(_count([c.text])[0] <= 40 for c in chunks)


def test_sentence_spans_keep_headlines_separate():
    text = "A headline without a full stop\nFirst sentence here. Second one, Mr. Smith said."
    spans = [text[s:e] for s, e in split_sentences(text)]
    assert spans == ["A headline without a full stop", "First sentence here.", "Second one, Mr. Smith said."]
