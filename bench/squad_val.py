"""Build the answer stage's validation set from the 40 SQuAD 1.1 articles the SQuAD reader was not trained on.

Choices about the answer stage (thresholds, which reader, how many sentences it reads) are made on this set,
never on the in-house sets (xquad-dev, the seed set, newsdev, newswire, newsreal), which stay checks. The articles are the
``held_out_articles`` of the reader's manifest (``assistant/answer/reader-manifest.json``), read from the shared
training file (``../shared/qa-train/squad-v1.1-train.jsonl.gz``). The set is written only under ``bench/out/``
(git-ignored): the training data's rules forbid copying it into the project.

What it builds, deterministic for ``--seed``, in the format of ``../shared/evaldata/xquad-dev/``:

- ``articles/<Title>.md``: each held-out article without about 20 % of its paragraphs (at least one, chosen by
  the seed), a ``# Title`` line and the kept paragraphs separated by blank lines;
- ``questions.jsonl``: answerable questions, drawn evenly across the articles from the kept paragraphs' questions
  (``answers``: their distinct gold texts), and unanswerable ones drawn from the removed paragraphs' questions,
  kept only when none of their gold answers occurs in the article as written (case-insensitive, raw or after
  SQuAD normalisation), so the article truly does not say it; they name that article (within-article
  unanswerables), with ``answers: []``;
- ``README.md``: what it is, how it was made, and the source (SQuAD 1.1, CC BY-SA 4.0).

By default it draws 4,000 answerable questions and every unanswerable one that qualifies (955): on
600 a difference of 0.01 in ``str_em`` is six questions, within what two nearly identical readers differ by
(bench/compare_runs.py compares two runs with intervals).

Build it, then score it:

    nice -n 10 .venv/bin/python -m bench.squad_val [--out bench/out/squad-val] [--answerable 4000] \\
        [--unanswerable 1000] [--seed 13] [--manifest assistant/answer/reader-manifest.json]
    .venv/bin/assistant eval bench/out/squad-val/questions.jsonl --corpus bench/out/squad-val/articles \\
        --out bench/out/val/reader
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
from pathlib import Path
from urllib.parse import unquote

from assistant.eval.metrics import contains_answer
from bench.train_reader import SQUAD, read_articles

ROOT = Path(__file__).resolve().parent.parent
OUT_ROOT = ROOT / "bench" / "out"
MANIFEST = ROOT / "assistant" / "answer" / "reader-manifest.json"
REMOVE_SHARE = 0.2


def file_name(title: str) -> str:
    """SQuAD's title (underscores kept, %-escapes decoded) made safe as a file name."""
    return re.sub(r"[^\w.,()'+-]", "_", unquote(title)).strip(".") + ".md"


def heading(title: str) -> str:
    return unquote(title).replace("_", " ")


def split_article(title: str, paragraphs: list[dict], seed: int) -> tuple[list[dict], list[dict]]:
    """(kept, removed) paragraphs, both in the article's order; about REMOVE_SHARE removed, at least one."""
    rng = random.Random(f"{seed}/remove/{title}")
    n_removed = max(1, round(REMOVE_SHARE * len(paragraphs)))
    removed = set(rng.sample(range(len(paragraphs)), n_removed)) if len(paragraphs) > 1 else set()
    kept = [p for i, p in enumerate(paragraphs) if i not in removed]
    return kept, [p for i, p in enumerate(paragraphs) if i in removed]


def article_text(title: str, kept: list[dict]) -> str:
    bodies = [" ".join(p["context"].split()) for p in kept]
    return "\n\n".join([f"# {heading(title)}", *bodies]) + "\n"


def golds(qa: dict) -> list[str]:
    """The distinct gold answer texts, in order."""
    return list(dict.fromkeys(a["text"].strip() for a in qa["answers"] if a["text"].strip()))


def said_in(text: str, answers: list[str]) -> bool:
    lowered = text.lower()
    return any(a.lower() in lowered for a in answers) or contains_answer(text, answers)


def once_each(pool: list[dict]) -> list[dict]:
    """The pool without repeats, in order: the training file repeats a few paragraphs, question ids and all (dropped
    after the shuffle, so the sets drawn before this was noticed stay as they were)."""
    first: dict[str, dict] = {}
    for question in pool:
        first.setdefault(question["id"], question)
    return list(first.values())


def round_robin(pools: dict[str, list[dict]], total: int, rng: random.Random) -> list[dict]:
    """Up to ``total`` items, one per article in turn (articles in a seeded order), so each article gives as many
    as it can up to an even share, and what an article lacks comes from the others."""
    order = sorted(pools)
    rng.shuffle(order)
    at = dict.fromkeys(order, 0)
    picked: list[dict] = []
    while len(picked) < total:
        live = [t for t in order if at[t] < len(pools[t])]
        if not live:
            break
        for t in live[: total - len(picked)]:
            picked.append(pools[t][at[t]])
            at[t] += 1
    return picked


def within_out_root(path: Path) -> bool:
    return path.resolve().is_relative_to(OUT_ROOT.resolve()) and path.resolve() != OUT_ROOT.resolve()


def build(args: argparse.Namespace) -> dict:
    manifest = json.loads(args.manifest.read_text(encoding="utf-8"))
    titles = list(manifest["held_out_articles"])
    articles = read_articles(args.data)
    missing = [t for t in titles if t not in articles]
    if missing:
        sys.exit(f"{args.data} has no article titled {', '.join(missing)}")

    answerable_pools: dict[str, list[dict]] = {}
    unanswerable_pools: dict[str, list[dict]] = {}
    texts: dict[str, str] = {}
    counts = {"paragraphs": 0, "removed": 0, "removed_questions": 0, "said_elsewhere": 0}
    for title in titles:
        kept, removed = split_article(title, articles[title], args.seed)
        name = file_name(title)
        text = texts[name] = article_text(title, kept)
        counts["paragraphs"] += len(kept) + len(removed)
        counts["removed"] += len(removed)
        rng = random.Random(f"{args.seed}/questions/{title}")
        pool = [{"id": qa["id"], "question": qa["question"].strip(), "answers": golds(qa), "article": name,
                 "answerable": True} for p in kept for qa in p["qas"] if golds(qa) and qa["question"].strip()]
        rng.shuffle(pool)
        answerable_pools[name] = once_each(pool)
        pool = []
        for p in removed:
            for qa in p["qas"]:
                counts["removed_questions"] += 1
                if said_in(text, golds(qa)):
                    counts["said_elsewhere"] += 1
                elif qa["question"].strip():
                    pool.append({"id": qa["id"], "question": qa["question"].strip(), "answers": [], "article": name,
                                 "answerable": False})
        rng.shuffle(pool)
        unanswerable_pools[name] = once_each(pool)

    rng = random.Random(args.seed)
    answerable = round_robin(answerable_pools, args.answerable, rng)
    unanswerable = round_robin(unanswerable_pools, args.unanswerable, rng)
    questions = answerable + unanswerable
    rng.shuffle(questions)

    folder = args.out / "articles"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    with (args.out / "questions.jsonl").open("w", encoding="utf-8") as out:
        for q in questions:
            out.write(json.dumps(q, ensure_ascii=False) + "\n")
    summary = {"articles": len(texts), "answerable": len(answerable), "unanswerable": len(unanswerable),
               "unanswerable_pool": sum(map(len, unanswerable_pools.values())), **counts}
    (args.out / "README.md").write_text(readme(args, summary), encoding="utf-8")
    return summary


def shown(path: Path) -> Path:
    """The path relative to the project root when it lies inside it."""
    return path.resolve().relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path


def readme(args: argparse.Namespace, s: dict) -> str:
    out, manifest = shown(args.out), shown(args.manifest)
    command = (f"python -m bench.squad_val --out {out} --answerable {args.answerable} "
               f"--unanswerable {args.unanswerable} --seed {args.seed} --manifest {manifest}")
    return f"""# squad-val

The answer stage's validation set: choices about the answer stage are made on it, never on the in-house sets.
{s["articles"]} articles in `articles/`, {s["answerable"] + s["unanswerable"]} questions in `questions.jsonl`
({s["answerable"]} answerable from the articles, {s["unanswerable"]} not: each asks about an article that does not
say the answer, and the right reply says so).

Each line of `questions.jsonl`: `id` (SQuAD's), `question`, `answers` (gold spans; any one counts; empty when not
answerable), `article` (the file the question is about), `answerable`.

How it was made:

    {command}

- The articles are the {s["articles"]} `held_out_articles` of `{manifest}`: the SQuAD training articles the
  SQuAD reader was not trained on, read from `squad-v1.1-train.jsonl.gz`.
- From each article about {REMOVE_SHARE:.0%} of its paragraphs (at least one, chosen by seed {args.seed}) were
  removed: {s["removed"]} of {s["paragraphs"]} paragraphs. The rest, in order, is the article's file.
- Answerable questions were drawn evenly across the articles (seeded) from the kept paragraphs' questions, with
  all their distinct gold answers.
- Unanswerable questions were drawn the same way from the removed paragraphs' questions, keeping only those
  none of whose gold answers occurs in the article's file (case-insensitive, raw or SQuAD-normalised):
  {s["unanswerable_pool"]} of {s["removed_questions"]} qualified ({s["said_elsewhere"]} had an answer said
  elsewhere in the article); {s["unanswerable"]} were drawn.

Score it:

    .venv/bin/assistant eval {out}/questions.jsonl --corpus {out}/articles --out {out}-eval

Source: SQuAD 1.1 (Rajpurkar, Zhang, Lopyrev and Liang, 2016, "SQuAD: 100,000+ Questions for Machine
Comprehension of Text"), training split, Wikipedia text. License: CC BY-SA 4.0. Built from the shared training
data, so it lives under `bench/out/` only and is never copied into the project.
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_ROOT / "squad-val", help="folder under bench/out/")
    parser.add_argument("--answerable", type=int, default=4000, help="answerable questions (at most)")
    parser.add_argument("--unanswerable", type=int, default=1000, help="unanswerable questions (at most)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--manifest", type=Path, default=MANIFEST, help="reader manifest with held_out_articles")
    parser.add_argument("--data", type=Path, default=SQUAD, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not within_out_root(args.out):
        parser.error(f"--out must be a folder under {OUT_ROOT} (the set must not enter the project's files)")
    if args.answerable < 0 or args.unanswerable < 0:
        parser.error("counts must be >= 0")
    s = build(args)
    print(f"squad-val: {s['articles']} articles, {s['answerable']} answerable, {s['unanswerable']} unanswerable "
          f"(of {s['unanswerable_pool']} eligible), {s['removed']}/{s['paragraphs']} paragraphs removed -> {shown(args.out)}")


if __name__ == "__main__":
    main()
