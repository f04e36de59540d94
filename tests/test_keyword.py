"""The keyword (BM25) side on its own: best first, ties in row order, a filter mask honoured, nothing for no terms,
accents folded."""

from __future__ import annotations

import bm25s
import numpy as np
import pytest

from assistant.index.keyword import KeywordIndex, _tokenize

pytestmark = pytest.mark.fast

TEXTS = [
    "The harbour festival drew lanterns and boats.",
    "Lanterns lit the harbour at night.",
    "A council meeting about the bridge.",
    "Lanterns lit the harbour at night.",  # the same text again: a tie with row 1
    "The railway museum opened in spring.",
    "Beyoncé sang the ﬁnal song in São Paulo.",  # an accent and a ligature, as articles write them
]


def _index() -> KeywordIndex:
    bm25 = bm25s.BM25()
    bm25.index(_tokenize(TEXTS), show_progress=False)
    return KeywordIndex(1, [f"c{i}" for i in range(len(TEXTS))], np.array(["a", "a", "b", "c", "b", "d"]), bm25)


def test_best_first_and_ties_in_row_order():
    index = _index()
    assert index.search("lanterns harbour night", 3) == ["c1", "c3", "c0"]
    assert index.search("lanterns harbour night", 10) == ["c1", "c3", "c0"]  # only rows that match


def test_a_mask_keeps_only_the_admitted_rows():
    mask = (_index().article_ids != "a").astype(np.float32)
    assert _index().search("lanterns harbour", 5, mask) == ["c3"]


def test_no_known_term_finds_nothing():
    assert _index().search("zeppelin", 5) == []
    assert _index().search("the and of", 5) == []  # stopwords only


def test_accents_and_ligatures_are_folded_on_both_sides():
    index = _index()
    for asked in ("Beyonce final", "BEYONCÉ", "sao paulo", "São Paulo", "ﬁnal"):
        assert index.search(asked, 3) == ["c5"], asked
