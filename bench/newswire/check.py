"""Validate the newswire question set (standard library only).

Checks that every line of questions.jsonl parses, ids are unique and of the form wire-NN-qMM, each of the
16 articles has 15 questions (10 answerable, 5 unanswerable), every gold span of an answerable question occurs
verbatim (case-sensitive) in the body of its article, gold spans are 1-8 words with 1-3 variants, and
unanswerable questions have "answers": [] and "article": null. Also checks the article files: a headline,
a blank line, then a body of 350-650 words. Prints the counts; exits 1 on any problem.

    .venv/bin/python bench/newswire/check.py
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ARTICLES = HERE / "articles"
QUESTIONS = HERE / "questions.jsonl"
ID_RE = re.compile(r"^wire-(\d{2})-q(\d{2})$")
KEYS = {"id", "question", "answers", "article", "answerable"}
N_ARTICLES, N_ANSWERABLE, N_UNANSWERABLE = 16, 10, 5
MIN_WORDS, MAX_WORDS = 350, 650


def read_articles(problems: list[str]) -> dict[str, str]:
    """File name -> body (everything after the headline and the blank line)."""
    bodies = {}
    for path in sorted(ARTICLES.glob("*.txt")):
        if not re.match(r"^\d{2}_[a-z0-9]+\.txt$", path.name):
            problems.append(f"{path.name}: name is not NN_word.txt")
        lines = path.read_text(encoding="utf-8").split("\n")
        if len(lines) < 3 or not lines[0].strip() or lines[1].strip():
            problems.append(f"{path.name}: expected a headline, then a blank line, then the body")
            continue
        body = "\n".join(lines[2:])
        words = len(body.split())
        if not MIN_WORDS <= words <= MAX_WORDS:
            problems.append(f"{path.name}: body has {words} words (want {MIN_WORDS}-{MAX_WORDS})")
        bodies[path.name] = body
    if len(bodies) != N_ARTICLES:
        problems.append(f"found {len(bodies)} articles, want {N_ARTICLES}")
    return bodies


def main() -> int:
    problems: list[str] = []
    bodies = read_articles(problems)
    by_number = {name[:2]: name for name in bodies}
    seen: set[str] = set()
    per_article: dict[str, Counter] = defaultdict(Counter)
    questions_seen: set[str] = set()
    n_lines = 0
    for line_no, line in enumerate(QUESTIONS.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            problems.append(f"line {line_no}: blank line")
            continue
        n_lines += 1
        where = f"line {line_no}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(rec, dict) or set(rec) != KEYS:
            problems.append(f"{where}: expected exactly the keys {sorted(KEYS)}")
            continue
        qid = rec["id"]
        where = f"line {line_no} ({qid})"
        m = ID_RE.match(str(qid))
        if not m:
            problems.append(f"{where}: id is not wire-NN-qMM")
            continue
        if qid in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(qid)
        number = m.group(1)
        question = rec["question"]
        if not isinstance(question, str) or not question.strip().endswith("?"):
            problems.append(f"{where}: question must be a string ending in '?'")
        elif question.strip().lower() in questions_seen:
            problems.append(f"{where}: duplicate question text")
        else:
            questions_seen.add(question.strip().lower())
        answers, article, answerable = rec["answers"], rec["article"], rec["answerable"]
        if not isinstance(answerable, bool) or not isinstance(answers, list):
            problems.append(f"{where}: answerable must be a bool and answers a list")
            continue
        if answerable:
            per_article[number]["answerable"] += 1
            if article != by_number.get(number):
                problems.append(f"{where}: article {article!r} does not match id number {number}")
                continue
            if not 1 <= len(answers) <= 3:
                problems.append(f"{where}: want 1-3 gold answers, got {len(answers)}")
            for gold in answers:
                if not isinstance(gold, str) or not gold.strip():
                    problems.append(f"{where}: empty or non-string gold {gold!r}")
                    continue
                if not 1 <= len(gold.split()) <= 8:
                    problems.append(f"{where}: gold {gold!r} is not 1-8 words")
                if gold not in bodies[article]:
                    problems.append(f"{where}: gold {gold!r} not found verbatim in {article}")
            if len(set(answers)) != len(answers):
                problems.append(f"{where}: repeated gold answer")
        else:
            per_article[number]["unanswerable"] += 1
            if answers != [] or article is not None:
                problems.append(f"{where}: unanswerable must have answers [] and article null")
    for number, name in sorted(by_number.items()):
        counts = per_article.get(number, Counter())
        if counts["answerable"] != N_ANSWERABLE or counts["unanswerable"] != N_UNANSWERABLE:
            problems.append(f"{name}: {counts['answerable']} answerable / {counts['unanswerable']} unanswerable "
                            f"(want {N_ANSWERABLE}/{N_UNANSWERABLE})")
    for number in sorted(set(per_article) - set(by_number)):
        problems.append(f"questions with id number {number} have no article")
    n_ans = sum(c["answerable"] for c in per_article.values())
    n_unans = sum(c["unanswerable"] for c in per_article.values())
    print(f"articles: {len(bodies)}")
    print(f"questions: {n_lines} ({n_ans} answerable, {n_unans} unanswerable)")
    for number, name in sorted(by_number.items()):
        counts = per_article.get(number, Counter())
        words = len(bodies[name].split())
        print(f"  {name:<20} {words:>4} words  {counts['answerable']:>2} answerable  {counts['unanswerable']:>2} unanswerable")
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for p in problems:
            print(f"  - {p}")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
