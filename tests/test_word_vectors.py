"""The word vectors the answer stage preselects candidate sentences with: distilled once from the real embedder."""

from __future__ import annotations

import numpy as np

from assistant.embeddings import word_vectors


def test_a_sentence_saying_what_is_asked_is_more_alike_than_one_on_the_topic_or_one_off_it():
    vectors = word_vectors.shipped()
    question = "How many people lost their lives when Syrian aircraft bombed the camp?"
    answer, topic, off = vectors.likeness(question, [
        "The strike killed nine Syrians, including children.",
        "Lebanon has received over a million refugees.",
        "The weather was sunny and warm on Saturday.",
    ])
    assert answer > topic > off


def test_the_table_is_built_once_from_the_packaged_model_and_read_from_the_cache():
    vectors = word_vectors.shipped()
    path = vectors.build()
    assert path == vectors.build() and path.exists()  # cached: the second call builds nothing
    table = vectors.table
    assert table.dtype == np.float16 and table.shape == (vectors.tokenizer.get_vocab_size(), 384)
    # centred: what every word piece shares is taken out, so likeness is about what differs
    assert np.abs(table.astype(np.float32).mean(axis=0)).max() < 1e-2


def test_a_text_without_words_has_no_likeness():
    vectors = word_vectors.shipped()
    assert vectors.likeness("Who won?", []).shape == (0,)
    assert vectors.likeness("Who won?", ["?!", "—"]).tolist() == [0.0, 0.0]
    rows = vectors.vectors(["The match was won by Eastfield.", "Eastfield won the match."])
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-3)
