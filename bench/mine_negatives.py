"""The sentences the shipped reader itself mistakes for answers, per training question: negatives for another pass.

For each training question (the articles bench/train_reader.py trains on, never the held-out ones) the shipped
reader reads the sentences a ``similar`` negative is drawn from (the other sentences of its paragraph, and the
sentences of the article's other paragraphs most like the question), those holding no gold answer; the ``--top``
it finds most answerable are written, with their answerability, one JSON line per question:
``{"title", "question", "negatives": [[sentence, answerability], ...]}``. ``train_reader --mined FILE`` trains
against them (the way dense retrievers are trained against their own hard negatives).

    nice -n 19 .venv/bin/python -m bench.mine_negatives [--share 0.5] [--out bench/out/mined.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
from multiprocessing import Pool
from pathlib import Path

from rich.progress import track

from bench.train_reader import SQUAD, _similar_sentences, held_out, holds_answer, questions_of, read_articles

ROOT = Path(__file__).resolve().parent.parent


def mine_article(job: tuple[str, list[dict], float, int, int]) -> list[dict]:
    from assistant.answer import reader

    title, paragraphs, share, seed, top = job
    rng = random.Random(f"{seed}:{title}")
    asked = questions_of(paragraphs)
    similar = _similar_sentences(asked)
    out = []
    for p, questions in enumerate(asked):
        for j, q in enumerate(questions):
            if rng.random() >= share:
                continue
            pool = [s for i, s in enumerate(q.sentences) if i != q.gold] + similar.get((p, j), [])
            pool = list(dict.fromkeys(s for s in pool if not holds_answer(s, q.answers) and len(s.split()) >= 4))
            if not pool:
                continue
            readings = reader.shipped().read(q.question, pool)
            ranked = sorted(zip(pool, (r.answerability for r in readings)), key=lambda x: -x[1])[:top]
            out.append({"title": title, "question": q.question, "negatives": [[s, round(a, 3)] for s, a in ranked]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SQUAD)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "mined.jsonl")
    parser.add_argument("--share", type=float, default=0.5, help="the share of training questions mined")
    parser.add_argument("--top", type=int, default=3, help="negatives kept per question")
    parser.add_argument("--seed", type=int, default=13, help="as train_reader's: which articles are held out")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    articles = read_articles(args.data)
    held, _ = held_out(articles, args.seed, 40, 0)
    jobs = [(t, articles[t], args.share, args.seed, args.top) for t in sorted(articles) if t not in held]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    with Pool(args.workers) as pool, tmp.open("w") as out:
        for rows in track(pool.imap(mine_article, jobs), total=len(jobs), description="mining"):
            out.writelines(json.dumps(r) + "\n" for r in rows)
    tmp.replace(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
