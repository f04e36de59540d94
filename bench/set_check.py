"""What the question sets' check.py scripts share: their command line and the articles they read (stdlib only)."""

from __future__ import annotations

import json
import os
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
