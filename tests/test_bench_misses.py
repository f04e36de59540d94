"""bench/misses.py: where a missed answer's gold was, and what a longer quote would have held."""

from __future__ import annotations

import pytest

from bench import misses

pytestmark = pytest.mark.fast

ARTICLE = ("The Gin Act 1736 imposed high taxes on retailers. The Gin Act 1751 however was more successful. "
           "It forced distillers to sell only to licensed retailers. Gin shops came under local magistrates. "
           "Hogarth drew Gin Lane in 1751, which shows the streets of St Giles, where gin was sold in every cellar, "
           "to people who could not afford bread, and it was printed with Beer Street as a pair of engravings.")


def _row(tmp_path, question_gold: str, quote: str, phrase: str, answer: str | None = None) -> dict:
    source = tmp_path / "gin.md"
    source.write_text(ARTICLE, encoding="utf-8")
    return {"answerable": True, "gold": [question_gold], "answer": f"{answer or quote} [1]", "refused": False,
            "citations": [{"source": str(source), "quote": quote, "phrase": phrase}]}


def test_a_miss_is_placed_by_where_its_gold_is(tmp_path):
    forced = "It forced distillers to sell only to licensed retailers."
    assert misses.place_of_gold(_row(tmp_path, "The Gin Act 1751", forced, "distillers")) == "in the sentence before"
    assert misses.place_of_gold(_row(tmp_path, "local magistrates", forced, "distillers")) == "in the sentence after"
    assert misses.place_of_gold(_row(tmp_path, "high taxes", forced, "distillers")) == "elsewhere"
    assert misses.place_of_gold(_row(tmp_path, "licensed retailers", forced, "licensed retailers")) is None  # right
    clipped = "Hogarth drew Gin Lane in 1751,"
    row = _row(tmp_path, "Beer Street", clipped, "Gin Lane", answer=f"{clipped}…")
    assert misses.place_of_gold(row) == "clipped from the quoted sentence"


def test_a_quote_is_clipped_again_around_its_phrase_at_another_limit(tmp_path):
    row = _row(tmp_path, "Beer Street", "Hogarth drew Gin Lane in 1751,", "Gin Lane")
    short = misses.quoted_at(row, 10)
    whole = misses.quoted_at(row, 0)
    assert "Gin Lane" in short and "Beer Street" not in short and len(short.split()) <= 10
    assert whole.startswith("Hogarth drew") and whole.endswith("engravings.")
