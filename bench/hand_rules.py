"""Count the factoid answer stage's hand-set constants, regexes and word lists, at two commits side by side.

The files are the ones a factoid answer passes through after retrieval (the extractive backend, its candidates,
clauses, phrase and refusal modules where a commit has them, the reader, the word vectors that choose what it reads,
the subject's other names it reads as asked, the question's analysis and the shared word lists). Counted with Python's ``ast``:

- constants: module-level names in capitals bound to a number (a dict of numbers counts each entry), and number
  literals in code other than 0, 1, -1 and 2;
- regexes: each ``re.compile`` or ``re.<function>`` call with a literal pattern;
- word lists: module-level collections of strings (a set, tuple or list of string literals, or ``"...".split()``),
  with their words;
- fitted weights: numbers in the JSON models shipped beside the code.

    .venv/bin/python -m bench.hand_rules [--before 6a4f8d9] [--after HEAD]   # --after WORKTREE: the working tree
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = [
    "assistant/answer/extractive.py", "assistant/answer/candidates.py", "assistant/answer/clauses.py",
    "assistant/answer/phrases.py", "assistant/answer/refusal.py", "assistant/answer/reader.py",
    "assistant/embeddings/word_vectors.py", "assistant/answer/subject_names.py", "assistant/question/analysis.py",
    "assistant/vocabulary.py",
]
MODELS = ["assistant/answer/phrase_model.json", "assistant/answer/refusal_model.json"]
PLAIN = {0, 1, -1, 2}


def source(ref: str, path: str) -> str | None:
    if ref == "WORKTREE":
        file = ROOT / path
        return file.read_text() if file.exists() else None
    done = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


def _strings(node: ast.AST) -> list[str] | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("frozenset", "set", "tuple"):
        return _strings(node.args[0]) if node.args else None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "split":
        text = node.func.value
        if isinstance(text, ast.Constant) and isinstance(text.value, str):
            return text.value.split()
    if isinstance(node, (ast.Set, ast.Tuple, ast.List)) and node.elts and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return [e.value for e in node.elts]
    return None


def count(text: str) -> dict[str, int]:
    tree = ast.parse(text)
    found = {"constants": 0, "regexes": 0, "word lists": 0, "listed words": 0}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
                and node.func.value.id == "re" and node.args and not isinstance(node.args[0], ast.Name):
            found["regexes"] += 1
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool) \
                and node.value not in PLAIN:
            found["constants"] += 1
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id.lstrip("_").isupper():
            words = _strings(node.value)
            if words:
                found["word lists"] += 1
                found["listed words"] += len(words)
            elif isinstance(node.value, ast.Constant) and node.value.value in PLAIN:
                found["constants"] += 1  # a named 0, 1 or 2 is still a setting by hand
    return found


def fitted(ref: str) -> int:
    total = 0
    for path in MODELS:
        text = source(ref, path)
        if text:
            total += _numbers(json.loads(text))
    return total


def _numbers(value) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, (int, float)):
        return 1
    if isinstance(value, dict):
        return sum(_numbers(v) for v in value.values())
    if isinstance(value, list):
        return sum(_numbers(v) for v in value)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="6a4f8d9")
    parser.add_argument("--after", default="HEAD")
    args = parser.parse_args()
    rows = {}
    for ref in (args.before, args.after):
        totals = {"files": 0, "lines": 0, "constants": 0, "regexes": 0, "word lists": 0, "listed words": 0}
        for path in FILES:
            text = source(ref, path)
            if text is None:
                continue
            totals["files"] += 1
            totals["lines"] += len(text.splitlines())
            for key, n in count(text).items():
                totals[key] += n
        totals["fitted weights (JSON)"] = fitted(ref)
        rows[ref] = totals
    keys = list(rows[args.before])
    print("| | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for ref, totals in rows.items():
        print(f"| {ref} | " + " | ".join(str(totals[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
