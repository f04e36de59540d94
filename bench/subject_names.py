"""What reading a sentence with the subject named as asked (assistant/answer/subject_names.py) does to the reader.

No evaluation set has an article whose opening gives its subject another name ("born Temüjin", "also known as
Burma"), so this reads SQuAD's training articles that have one: every question of theirs for which some sentence
of its paragraph would be read renamed. Per question, the paragraph's sentences are read as written and as
renamed; printed: how often the answer sentence scores highest, and the span's exact match on it. The reader was
trained on these articles as written, so the renamed reading is at a disadvantage here.

    .venv/bin/python -m bench.subject_names
"""

from __future__ import annotations

import argparse

import numpy as np

from assistant.answer import reader
from assistant.answer.subject_names import as_asked, subject_names
from assistant.text import split_sentences
from bench.train_reader import SQUAD, normalise, read_articles


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()  # --help, before a long job
    read = reader.shipped().read
    rows = []
    for title, paragraphs in read_articles(SQUAD).items():
        name = title.replace("_", " ")
        names = subject_names(title, "\n\n".join([name, *(p["context"] for p in paragraphs)]), name)
        if len(names) < 2:
            continue
        for paragraph in paragraphs:
            context = paragraph["context"]
            spans = split_sentences(context)
            sentences = [context[s:e] for s, e in spans]
            for qa in paragraph["qas"]:
                start = qa["answers"][0]["start"]
                gold = next((i for i, (s, e) in enumerate(spans) if s <= start < e), None)
                renamed = [as_asked(s, qa["question"], names) for s in sentences]
                if gold is None or not any(r.swaps for r in renamed):
                    continue
                plain = read(qa["question"], sentences)
                as_named = read(qa["question"], [r.text for r in renamed])
                span = as_named[gold].span
                rows.append((int(np.argmax([r.answerability for r in plain])) == gold,
                             int(np.argmax([r.answerability for r in as_named])) == gold,
                             _exact(sentences[gold], plain[gold].span, qa["answers"]),
                             _exact(sentences[gold], renamed[gold].span_in_sentence(span) if span else None, qa["answers"])))
    right = np.mean(rows, axis=0)
    print(f"{len(rows)} questions on articles with another name for their subject\n")
    print("| read | answer sentence scores highest | span exact match |\n|---|---|---|")
    print(f"| as written | {right[0]:.3f} | {right[2]:.3f} |\n| subject named as asked | {right[1]:.3f} | {right[3]:.3f} |")


def _exact(sentence: str, span: tuple[int, int] | None, answers: list[dict]) -> bool:
    return span is not None and any(normalise(sentence[span[0] : span[1]]) == normalise(a["text"]) for a in answers)


if __name__ == "__main__":
    main()
