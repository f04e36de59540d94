"""What the question sets' check.py scripts share: their command line, the articles they read and the gold spans' rules
(stdlib only)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable


def arguments(argv: list[str], default_questions: str, default_articles: str) -> tuple[str, str]:
    """(questions file, articles folder) from ``check.py [questions.jsonl] [--articles DIR]``."""
    path, articles = default_questions, default_articles
    args = list(argv[1:])
    while args:
        arg = args.pop(0)
        if arg == "--articles":
            articles = args.pop(0)
        else:
            path = arg
    return path, articles


def article_reader(folder: str) -> Callable[[str], str | None]:
    """A file's text by name (None when missing), each file read once."""
    cache: dict[str, str | None] = {}

    def article_text(name: str) -> str | None:
        if name not in cache:
            path = os.path.join(folder, name)
            cache[name] = open(path, encoding="utf-8").read() if os.path.isfile(path) else None
        return cache[name]

    return article_text


def json_rows(path: str, keys: set[str], errors: list[str]) -> list[tuple[int, dict]]:
    """(line number, object) of each line that is a JSON object with exactly ``keys``; what is wrong with the
    others goes to ``errors``, naming the line."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            if not line.strip():
                errors.append(f"line {ln}: empty line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                errors.append(f"line {ln}: JSON error: {e}")
                continue
            if not isinstance(obj, dict):
                errors.append(f"line {ln}: not a JSON object")
                continue
            if set(obj) != keys:
                errors.append(f"line {ln}: keys {sorted(obj)} != {sorted(keys)}")
                continue
            rows.append((ln, obj))
    return rows


def on_word_boundaries(text: str, span: str) -> bool:
    """Whether ``span`` occurs in ``text`` at least once not inside a longer word."""
    for m in re.finditer(re.escape(span), text):
        s, e = m.start(), m.end()
        left_ok = s == 0 or not (text[s - 1].isalnum() and span[0].isalnum())
        right_ok = e == len(text) or not (text[e].isalnum() and span[-1].isalnum())
        if left_ok and right_ok:
            return True
    return False


def gold_span_errors(where: str, spans: list, text: str, article: str) -> list[str]:
    """What is wrong with an answerable question's gold spans: 1-3 distinct strings of 1-8 words, each verbatim in
    its article's ``text`` on word boundaries."""
    errors = []
    if not 1 <= len(spans) <= 3:
        errors.append(f"{where}: needs 1-3 gold spans, has {len(spans)}")
    if len(set(map(str, spans))) != len(spans):
        errors.append(f"{where}: duplicate gold spans")
    for span in spans:
        if not isinstance(span, str) or not span.strip():
            errors.append(f"{where}: empty/non-string span {span!r}")
            continue
        if span != span.strip():
            errors.append(f"{where}: span has surrounding whitespace: {span!r}")
        words = len(span.split())
        if not 1 <= words <= 8:
            errors.append(f"{where}: span {span!r} has {words} words (need 1-8)")
        if span not in text:
            errors.append(f"{where}: span {span!r} not found verbatim in {article}")
        elif not on_word_boundaries(text, span):
            errors.append(f"{where}: span {span!r} only occurs inside a longer word")
    return errors


def verdict(errors: list[str]) -> int:
    """Print each error and FAILED, or OK; the exit status."""
    for e in errors:
        print("ERROR", e)
    if errors:
        print(f"FAILED: {len(errors)} error(s)")
        return 1
    print("OK")
    return 0
