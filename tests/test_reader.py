"""The reader: one model trained on SQuAD for the answer span and whether a sentence answers at all, as shipped
(its trained changes, which the runtime adds to the packaged MiniLM and builds into int8 ONNX) and as
bench/train_reader.py trains it (torch)."""

from __future__ import annotations

import hashlib
import json
import os
import time

import numpy as np
import pytest
from conftest import ROOT

from assistant.answer import reader
from assistant.embeddings import onnx_export, packaged_model_dir

SENTENCE = "Kerry will meet Russian Foreign Minister Sergei Lavrov on Friday."
QUESTION = "Who will Kerry meet on Friday?"


def test_the_shipped_reader_points_at_the_answer_and_says_which_sentence_answers():
    answering, unrelated = reader.shipped().read(QUESTION, [SENTENCE, "The weather in Geneva was mild all week."])
    assert answering.span is not None and "Lavrov" in SENTENCE[answering.span[0] : answering.span[1]]
    assert len(SENTENCE[answering.span[0] : answering.span[1]].split()) <= 6
    assert answering.answerability > 0 > unrelated.answerability
    assert reader.shipped().read(QUESTION, []) == []


def test_a_question_longer_than_the_reading_window_is_cut_instead_of_failing():
    """A pasted paragraph as the question (within max_question_chars) failed in the tokenizer, a 500 on every door."""
    rambling = QUESTION + " Please explain in detail, with every name involved." * 40  # about 450 word pieces
    (long_read,) = reader.Reader().read(rambling, [SENTENCE])
    assert long_read.span is not None and long_read.span[1] <= len(SENTENCE)
    rambling_sentence = SENTENCE + " It was a long week of talks." * 40  # a usual question is never cut
    (read,) = reader.Reader().read(QUESTION, [rambling_sentence])
    assert "Lavrov" in rambling_sentence[read.span[0] : read.span[1]]


def test_a_sentence_is_read_once_for_a_question_however_often_it_is_asked():
    runtime = reader.Reader()  # its own memory of readings; the model file is the shipped one, built once
    first = runtime.read(QUESTION, [SENTENCE])
    before = runtime._read_one.cache_info()
    assert runtime.read(QUESTION, [SENTENCE]) == first
    after = runtime._read_one.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)  # the model did not run again
    assert runtime.read("When will Kerry meet Lavrov?", [SENTENCE]) != first  # another question is read anew
    assert runtime._read_one.cache_info().maxsize == reader.READINGS_KEPT


@pytest.mark.fast
def test_a_span_is_widened_to_whole_words_without_edge_punctuation():
    sentence = "The fund paid 1,000,000 dollars, said Smith."
    start = sentence.index("1,000")
    assert reader._whole_words(sentence, start + 2, start + 5) == (start, start + len("1,000,000"))
    assert sentence[slice(*reader._whole_words(sentence, sentence.index("dollars"), sentence.index(" said")))] == "dollars"
    # a vowel sign or vowel mark is part of its word: the bold never ends between a letter and its mark
    hindi = "मुख्यमंत्री एकनाथ शिंदे ने घोषणा की।"
    end = hindi.index("शिंदे") + len("शिंद")
    assert hindi[slice(*reader._whole_words(hindi, hindi.index("एकनाथ"), end))] == "एकनाथ शिंदे"
    arabic = "قَالَ الوزيرُ إنّ الميناء سيفتح."
    assert arabic[slice(*reader._whole_words(arabic, 0, len("قَال")))] == "قَالَ"


@pytest.mark.fast
def test_the_shipped_reader_says_what_it_was_trained_on():
    manifest = json.loads((reader.WEIGHTS_PATH.parent / "reader-manifest.json").read_text())
    assert "SQuAD 1.1" in manifest["training_data"] and "CC BY-SA 4.0" in manifest["training_data"]
    assert manifest["command"].startswith("python -m bench.train_reader") and manifest["seed"] == 13
    assert len(manifest["held_out_articles"]) == 40  # whole articles: every choice is made on them
    assert set(manifest["validation"]) >= {"answer_sentence_accuracy", "span_exact_match", "answerability_auc"}
    assert reader.WEIGHTS_PATH.stat().st_size < 12 * 2**20  # the change, one byte a weight: not the 90 MB model
    squad = ROOT.parent / "shared" / "qa-train" / "squad-v1.1-train.jsonl.gz"
    if squad.exists():  # the training data is read where it is, never copied into the project
        assert hashlib.sha256(squad.read_bytes()).hexdigest() == manifest["training_file_sha256"]


def _onnx_logits(built, question: str, sentence: str) -> tuple[np.ndarray, np.ndarray]:
    runtime = reader.Reader(onnx_path=built)
    [e] = runtime.tokenizer.encode_batch([(question, sentence)])
    feed = {name: np.array([getattr(e, attr)], dtype=np.int64)
            for name, attr in (("input_ids", "ids"), ("attention_mask", "attention_mask"), ("token_type_ids", "type_ids"))}
    start, end = runtime.session.run(None, feed)
    return start[0], end[0]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lora", "full"])
def test_the_training_job_exports_what_the_runtime_reads(tmp_path, kind):
    """bench/train_reader.py trains with torch and tokenises with transformers; the runtime adds the saved changes
    to the packaged weights, tokenises with `tokenizers` and runs ONNX Runtime. The two must agree."""
    import torch
    from transformers import AutoTokenizer

    from bench import reader_weights

    torch.manual_seed(0)
    if kind == "lora":  # random adapters and head: untrained, but every merged update changes the scores
        model = reader_weights.LoraSpanHead(packaged_model_dir(), rank=4, random_adapters=True).eval()
        saved, most = reader_weights.save_adapter, 400_000  # 166k float16 adapter weights and the head
    else:  # every weight but the word embeddings moved a little
        model = reader_weights.FullSpanHead(packaged_model_dir()).eval()
        with torch.no_grad():
            for parameter in model.encoder.parameters():
                if parameter.requires_grad:
                    parameter += 0.02 * torch.randn_like(parameter)
        saved, most = reader_weights.save_full, 12_000_000  # int8 changes, not the 90 MB model
    weights = tmp_path / "weights.safetensors"
    saved(model, weights)
    assert weights.stat().st_size < most
    built = tmp_path / "reader-int8.onnx"
    onnx_export.export_reader(packaged_model_dir(), weights, built)  # what reader_model caches
    onnx_start, onnx_end = _onnx_logits(built, QUESTION, SENTENCE)

    tokenizer = AutoTokenizer.from_pretrained(str(packaged_model_dir()), local_files_only=True)
    enc = tokenizer([QUESTION], [SENTENCE], return_tensors="pt")
    with torch.no_grad():
        start, end = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    assert start.shape[1] == len(onnx_start)  # the same word pieces
    # int8 weights: close to the torch scores, not equal
    assert np.corrcoef(start[0].numpy(), onnx_start)[0, 1] > 0.9
    assert np.corrcoef(end[0].numpy(), onnx_end)[0, 1] > 0.9
    # without the trained changes the scores would be another model's
    untrained = reader_weights.FullSpanHead(packaged_model_dir()).eval()
    untrained.head.load_state_dict(model.head.state_dict())
    with torch.no_grad():
        unchanged, _ = untrained(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    assert np.corrcoef(unchanged[0].numpy(), onnx_start)[0, 1] < np.corrcoef(start[0].numpy(), onnx_start)[0, 1]


@pytest.mark.slow
def test_training_can_go_on_from_the_shipped_reader_file():
    """--init-from assistant/answer/reader-weights.safetensors: the torch model a run starts from scores as the
    shipped ONNX reader does, so a clean checkout can train further without the earlier run's checkpoint."""
    import torch
    from transformers import AutoTokenizer

    from bench import reader_weights
    from bench.train_reader import manifest_of

    model = reader_weights.FullSpanHead(packaged_model_dir()).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(packaged_model_dir()), local_files_only=True)
    enc = tokenizer([QUESTION], [SENTENCE], return_tensors="pt")
    with torch.no_grad():
        untrained_start, _ = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
        model.start_from(reader.WEIGHTS_PATH)
        start, end = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    onnx_start, onnx_end = _onnx_logits(onnx_export.reader_model(packaged_model_dir(), reader.WEIGHTS_PATH),
                                        QUESTION, SENTENCE)
    assert np.corrcoef(start[0].numpy(), onnx_start)[0, 1] > 0.99  # int8 against float: close, not equal
    assert np.corrcoef(end[0].numpy(), onnx_end)[0, 1] > 0.99
    assert np.corrcoef(untrained_start[0].numpy(), onnx_start)[0, 1] < 0.5  # a random head scores otherwise
    assert model.encoder.embeddings.word_embeddings.weight.requires_grad is False  # still frozen for training
    assert manifest_of(reader.WEIGHTS_PATH) == reader.WEIGHTS_PATH.parent / "reader-manifest.json"


def test_damaged_weights_are_refused_naming_the_file(tmp_path):
    from safetensors.numpy import save_file

    weights = tmp_path / "weights.safetensors"
    save_file({"head.weight": np.zeros((2, 384), np.float16), "head.bias": np.zeros(2, np.float16),
               "encoder.layer.9.attention.self.query.down": np.zeros((4, 384), np.float16)}, str(weights))
    with pytest.raises(ValueError, match=r"weights\.safetensors: tensors that match no layer"):
        onnx_export.export_reader(packaged_model_dir(), weights, tmp_path / "reader.onnx")
    weights.write_bytes(b"not safetensors")
    with pytest.raises(ValueError, match=r"weights\.safetensors: not a reader adapter"):
        onnx_export.export_reader(packaged_model_dir(), weights, tmp_path / "reader.onnx")
    assert not (tmp_path / "reader.onnx").exists()


@pytest.mark.slow
def test_warming_up_builds_the_reader_and_word_vectors_once_so_no_question_waits_for_them(make_assistant, monkeypatch, tmp_path):
    assistant = make_assistant()
    assistant.embedder.load()  # from the usual cache: only the reader is built below
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    # Readers of earlier weights: the most recently used one stays (another checkout may use it), the rest,
    # unused for two days, are removed once the new one is built.
    cache = onnx_export.cache_dir()
    cache.mkdir(parents=True)
    earlier = {name: cache / f"reader-{name * 16}-int8.onnx" for name in "abcd"}
    for age_days, path in zip((0.5, 2, 3, 4), earlier.values()):
        path.write_bytes(b"an earlier reader")
        os.utime(path, (time.time() - age_days * 86400,) * 2)

    assistant.warm_up()
    built = onnx_export.reader_model(packaged_model_dir(), reader.WEIGHTS_PATH)
    assert sorted(cache.glob("reader-*-int8.onnx")) == sorted([built, earlier["a"]])
    vectors = cache / "word-vectors.npy"
    made = built.stat().st_ino, vectors.stat().st_ino
    assistant.warm_up()  # a restart finds them
    assert (built.stat().st_ino, vectors.stat().st_ino) == made


def _articles() -> dict[str, list[dict]]:
    """Three small articles in SQuAD's shape: two paragraphs of three sentences, a question on each sentence."""
    articles = {}
    for a, topic in enumerate(["harbour", "orchard", "railway"]):
        paragraphs = []
        for p in range(2):
            sentences = [f"The {topic} number {p}{s} was opened in {1900 + 10 * a + 3 * p + s} by the mayor."
                         for s in range(3)]
            context = " ".join(sentences)
            qas = []
            for s in range(3):
                year = str(1900 + 10 * a + 3 * p + s)
                qas.append({"id": f"{a}{p}{s}", "question": f"When was the {topic} number {p}{s} opened?",
                            "answers": [{"text": year, "start": context.index(year)}], "ambiguous": False})
            paragraphs.append({"title": topic, "context": context, "qas": qas})
        articles[topic] = paragraphs
    return articles


def test_listwise_training_keeps_each_question_with_its_negatives_in_one_batch():
    from bench.train_reader import listwise_examples

    examples = listwise_examples(_articles(), seed=13, size=4)
    assert len(examples) % 4 == 0 and examples
    for at in range(0, len(examples), 32):  # the training loop's batches
        groups: dict[int, list] = {}
        for example in examples[at : at + 32]:
            groups.setdefault(example.group, []).append(example)
        for group in groups.values():
            assert len(group) == 4 and len({e.question for e in group}) == 1
            (answer,) = [e for e in group if e.span is not None]  # one answer sentence, three that do not answer
            asked = answer.question.removeprefix("When was the ").removesuffix(" opened?")
            year = answer.sentence[answer.span[0] : answer.span[1]]
            assert asked in answer.sentence and year.isdigit()
            assert len({e.sentence for e in group}) == 4 and all(year not in e.sentence for e in group if e is not answer)


def test_passage_training_reads_runs_of_sentences_with_the_answer_at_its_span_or_none():
    """--passages: each question read with a run of whole sentences holding its answer sentence (the span pointing at
    the answer), and with one that does not hold the answer."""
    from bench.train_reader import passage_examples

    articles = _articles()
    examples = passage_examples(articles, seed=13, words=20)
    answers = {qa["question"]: qa["answers"][0]["text"] for paragraphs in articles.values() for p in paragraphs
               for qa in p["qas"]}
    answering = [e for e in examples if e.span is not None]
    assert len(answering) == len(answers) and {e.question for e in answering} == set(answers)
    for e in answering:
        assert e.sentence[e.span[0] : e.span[1]] == answers[e.question]
        asked = e.question.removeprefix("When was the ").removesuffix(" opened?")
        assert asked in e.sentence
    assert sum(len(e.sentence.split(". ")) >= 2 for e in answering) > len(answering) / 2  # mostly more than one sentence
    negatives = [e for e in examples if e.span is None]
    assert negatives and all(answers[e.question] not in e.sentence for e in negatives)


def test_training_scores_answerability_as_the_runtime_does():
    """The listwise loss ranks sentences by the best span less [CLS], as best_spans (and the runtime) score them."""
    import torch

    from bench.train_reader import answerabilities, best_spans

    torch.manual_seed(0)
    start, end = torch.randn(5, 40), torch.randn(5, 40)
    expected = [a for a, _, _ in best_spans(start, end, None)]
    assert torch.allclose(answerabilities(start, end), torch.tensor(expected), atol=1e-5)


def test_a_swapped_detail_makes_the_answer_sentence_a_negative_for_the_question():
    """--swapped: the question with one detail its answer sentence holds (not the answer) replaced by a detail of the
    same kind that the article names elsewhere, read against that sentence as one that does not answer."""
    import random

    from bench.train_reader import question_entities, questions_of, swapped_detail, training_examples

    context = ("The new bridge in London was opened by Alice Brown on Monday. "
               "The old bridge in Paris was closed by Robert Smith on Tuesday.")
    qas = [("Who opened the new bridge in London?", "Alice Brown"), ("Who closed the old bridge in Paris?", "Robert Smith"),
           ("When did Alice Brown open the bridge?", "Monday"), ("When did Robert Smith close the bridge?", "Tuesday")]
    articles = {"Bridges": [{"title": "Bridges", "context": context, "qas": [
        {"id": str(i), "question": q, "answers": [{"text": a, "start": context.index(a)}]} for i, (q, a) in enumerate(qas)]}]}
    entities = question_entities(articles)
    (questions,) = questions_of(articles["Bridges"])
    swapped = {q.question: swapped_detail(q, entities, random.Random(0)) for q in questions}
    assert swapped["Who opened the new bridge in London?"] == "Who opened the new bridge in Paris?"
    assert swapped["When did Alice Brown open the bridge?"] == "When did Robert Smith open the bridge?"

    examples = training_examples(articles, seed=13, negatives="similar", swapped=1.0)
    negatives = {(e.question, e.sentence) for e in examples if e.span is None}
    assert ("Who opened the new bridge in Paris?", "The new bridge in London was opened by Alice Brown on Monday.") in negatives
    assert {e.question for e in examples if e.span is not None} == {q for q, _ in qas}  # the questions as asked


def test_mined_negatives_are_the_readers_own_mistakes_and_half_the_negatives_drawn(tmp_path):
    """bench/mine_negatives.py keeps, per question, the sentences the shipped reader finds most answerable that hold
    no gold answer; --mined trains half of those questions' negatives on them."""
    import json

    from bench.mine_negatives import mine_article
    from bench.train_reader import read_mined, training_examples

    articles = _articles()
    title = sorted(articles)[0]
    rows = mine_article((title, articles[title], 1.0, 13, 2))
    assert rows and all(len(r["negatives"]) <= 2 for r in rows)
    for r in rows:
        [gold] = [qa["answers"][0]["text"] for p in articles[title] for qa in p["qas"] if qa["question"] == r["question"]]
        scores = [a for _, a in r["negatives"]]
        assert scores == sorted(scores, reverse=True) and all(gold not in s for s, _ in r["negatives"])
    path = tmp_path / "mined.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    mined = read_mined(path)
    examples = training_examples(articles, seed=13, negatives="similar", mined=mined)
    own = [(e.question, e.sentence) for e in examples if e.span is None and (title, e.question) in mined]
    from_mined = sum(sentence in mined[(title, question)] for question, sentence in own)
    assert own and 0.25 < from_mined / len(own) < 0.95
