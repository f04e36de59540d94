"""The eval corpus cache key: same files and indexing settings, same index; any change, a new one."""

from __future__ import annotations

import pytest

from assistant import errors
from assistant.eval.corpus import corpus_key, open_eval_index
from assistant.ingest.loaders import iter_files
from assistant.settings import Settings


def key(corpus, **settings) -> str:
    return corpus_key(corpus, list(iter_files([corpus])), Settings(**settings))


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nAlpha text.\n")
    (folder / "b.txt").write_text("Beta text.\n")
    return folder


def test_key_depends_on_content_names_and_indexing_settings(corpus, tmp_path):
    first = key(corpus)
    assert key(corpus) == first
    assert key(corpus, top_k=9, answerability_threshold=0.9) == first  # answer-time settings do not touch the index

    copy = tmp_path / "elsewhere"
    copy.mkdir()
    for f in corpus.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    assert key(copy) == first  # the same files at another path share the cache

    (corpus / "ignored.csv").write_text("not an article")
    assert key(corpus) == first  # only files ingest would read count

    assert key(corpus, chunk_tokens=64) != first
    (corpus / "b.txt").rename(corpus / "c.txt")
    assert key(corpus) != first  # gold articles are named by file name
    (corpus / "c.txt").rename(corpus / "b.txt")
    (corpus / "b.txt").write_text("Beta text, edited.\n")
    assert key(corpus) != first


def test_missing_or_empty_corpus(tmp_path):
    with pytest.raises(errors.InvalidRequest, match="is not a folder"):
        open_eval_index(tmp_path / "nope", Settings(), tmp_path / "cache")
    (tmp_path / "empty").mkdir()
    with pytest.raises(errors.InvalidRequest, match="holds no .txt, .md, .html or .pdf files"):
        open_eval_index(tmp_path / "empty", Settings(), tmp_path / "cache")


def test_a_corpus_of_which_nothing_can_be_ingested_says_why(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.pdf").write_bytes(b"not a PDF at all")
    (tmp_path / "bad" / "b.txt").write_bytes(b"   \n\n")
    with pytest.raises(errors.InvalidRequest) as raised:
        open_eval_index(tmp_path / "bad", Settings(), tmp_path / "cache")
    said = str(raised.value)
    assert said.startswith(f"--corpus: no article in {tmp_path / 'bad'} could be ingested: ")
    assert "a.pdf: not a readable PDF" in said and "b.txt: " in said
