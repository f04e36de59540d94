"""Word-piece vectors and the alignment signal: the answer stage's word-by-word match of question and sentence."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answer.extractive import alignment
from assistant.embeddings import TOKEN_CACHE_BYTES, get_embedder

QUESTION = "Who quit the board of the shipping company?"
SENTENCES = [
    "Anna Berg resigned from the board of directors of Nordlys Shipping in March.",
    "The shipping company's board met in March to discuss the harbour budget.",
]


def test_word_piece_vectors_come_from_the_same_pass_as_the_sentence_vector():
    embedder = get_embedder("onnx")
    text = "Anna Berg resigned from the board."
    [vectors] = embedder.token_vectors([text])
    pieces = embedder.tokenizer.encode(text, add_special_tokens=False).tokens
    assert vectors.shape == (len(pieces), embedder.dimension) and vectors.dtype == np.float16
    assert np.allclose(np.linalg.norm(vectors.astype(np.float32), axis=1), 1.0, atol=1e-2)
    # The pass also gave the sentence vector: it is remembered, and it is the one encode() computes.
    assert text in embedder._cache
    assert np.allclose(embedder.encode_cached([text])[0], embedder.encode([text])[0], atol=1e-6)
    # Asked again, the vectors come from memory; an empty text has no word pieces.
    assert embedder.token_vectors([text])[0] is vectors
    assert embedder.token_vectors([""])[0].shape == (0, embedder.dimension)
    assert 0 < embedder._token_cache_bytes <= TOKEN_CACHE_BYTES


def test_torch_and_onnx_give_the_same_word_piece_vectors():
    onnx, torch = get_embedder("onnx"), get_embedder("torch")
    texts = [QUESTION, *SENTENCES, "x"]
    for a, b in zip(onnx._encode_tokens(texts)[1], torch._encode_tokens(texts)[1]):
        assert a.shape == b.shape and np.allclose(a, b, atol=1e-4)


def test_alignment_is_the_share_of_the_question_matched_word_by_word():
    embedder = get_embedder("onnx")
    question, answer, unrelated = embedder.token_vectors(
        ["When did the glass plant close?", "The glass plant closed in 1998.", "Tickets go on sale on Monday."]
    )
    assert alignment(question, [question]) == pytest.approx(1.0, abs=1e-2)
    assert alignment(question, [answer]) > alignment(question, [unrelated]) + 0.1
    assert alignment(question, [np.zeros((0, embedder.dimension), np.float16)]) == 0.0


def test_alignment_in_context_reads_the_sentence_before_and_the_title(assistant_over):
    assistant = assistant_over({"harwick.txt": (
        "Harwick remembers its glassworks\n\n"
        "The Harwick glass plant employed 900 people at its peak. It closed in 1998 after a long decline. "
        "Tickets for the museum go on sale on Monday.\n"
    )})
    answer = assistant.ask("When did the Harwick glass plant close?")
    ranked = assistant.backend("extractive").rank(answer.question, answer.passages)
    [pronoun_led] = [c for c in ranked if c.text.startswith("It closed")]
    # "It" leans on the sentence before: matched with it, the question's words are covered far better.
    assert pronoun_led.previous.startswith("The Harwick glass plant")
    assert pronoun_led.signals["alignment_in_context"] > pronoun_led.signals["alignment"] + 0.1
