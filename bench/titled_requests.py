"""Requests that name an article by its title: how often the answer is about that article, and only it.

    .venv/bin/python -m bench.titled_requests [--corpus DIR ...]

For every article of each corpus (default: bench/newswire, bench/newsdev and the held-out SQuAD articles of
bench/out/squad-val, made by bench/squad_val.py), four overview requests name it by its title as people do:

- quoted:   Summarize the article "TITLE".
- loosely:  Give me a summary of “title” (lower case, no punctuation, its last word dropped when it has 5 or more)
- unquoted: What is TITLE about? (the whole title, not quoted)
- question: What does "TITLE" say? (a question, not an overview word)

A request counts as scoped when every citation of its answer is from the named article (and there is one);
also reported: answers that are the catalogue of every article (the failure the titles fix), and answers
that say the title is ambiguous. Each corpus is indexed alone, in the eval's cache.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from assistant.eval.corpus import default_cache_root, open_eval_index
from assistant.eval.scopes import ids_by_file_name
from assistant.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
CORPORA = [ROOT / "bench" / "newswire" / "articles", ROOT / "bench" / "newsdev" / "articles",
           ROOT / "bench" / "out" / "squad-val" / "articles"]


def loosely(title: str) -> str:
    words = re.sub(r"[^\w\s]", " ", title.lower()).split()
    return " ".join(words[:-1] if len(words) >= 5 else words)


PHRASINGS = {
    "quoted": lambda t: f'Summarize the article "{t}".',
    "loosely": lambda t: f"Give me a summary of “{loosely(t)}”",
    "unquoted": lambda t: f"What is {t} about?",
    "question": lambda t: f'What does "{t}" say?',
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, action="append", default=None)
    args = parser.parse_args(argv)
    totals: dict[str, list[int]] = {name: [0, 0, 0, 0] for name in PHRASINGS}  # scoped, catalogue, ambiguous, n
    for corpus in args.corpus or CORPORA:
        if not corpus.is_dir():
            print(f"skipped {corpus}: not there (bench/squad_val.py makes the SQuAD one)")
            continue
        assistant = open_eval_index(corpus, load_settings(), default_cache_root()).assistant
        ids = {article_id: name for name, found in ids_by_file_name(assistant).items() for article_id in found}
        articles = assistant.articles()
        for article in articles:
            for name, phrase in PHRASINGS.items():
                answer = assistant.ask(phrase(article.title))
                cited = {c.article_id for c in answer.citations}
                tally = totals[name]
                tally[0] += cited == {article.id}
                tally[1] += answer.kind == "catalogue" and "could be any of" not in answer.answer
                tally[2] += "could be any of" in answer.answer
                tally[3] += 1
                if cited != {article.id}:
                    print(f"  {corpus.parent.name}/{ids.get(article.id, article.id)} {name}: {answer.answer[:90]!r}")
        print(f"{corpus}: {len(articles)} articles")
    print(f"\n{'phrasing':10} {'scoped':>8} {'catalogue':>10} {'ambiguous':>10} {'n':>5}")
    for name, (scoped, catalogue, ambiguous, n) in totals.items():
        if not n:
            parser.error("no corpus found: name one with --corpus")
        print(f"{name:10} {scoped / n:8.3f} {catalogue:10d} {ambiguous:10d} {n:5d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
