"""Benchmark corpora of any size, built offline from the shared Wikipedia articles.

Each synthetic article takes a few paragraphs from the xquad-dev articles and
shuffles their sentences, so chunks are real English prose of realistic
length but no two articles are the same. Built deterministically (seeded) and
cached under bench/out/corpora/, so runs compare like with like.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared" / "evaldata" / "xquad-dev" / "articles"
CACHE = ROOT / "bench" / "out" / "corpora"
PARAGRAPHS_PER_ARTICLE = 6
# Measured on this corpus with the default chunking (128 tokens, 32 overlap).
WORDS_PER_CHUNK = 72


def _paragraphs() -> list[list[str]]:
    paragraphs = []
    for path in sorted(SOURCE.glob("*.md")):
        for block in path.read_text(encoding="utf-8").split("\n\n"):
            block = block.strip()
            if len(block) > 200 and not block.startswith("#"):
                paragraphs.append(re.split(r"(?<=[.!?])\s+(?=[A-Z])", block))
    return paragraphs


def build(target_chunks: int, seed: int = 13) -> Path:
    """A folder of .txt articles that chunk into roughly ``target_chunks`` chunks."""
    folder = CACHE / f"chunks-{target_chunks}"
    done = folder / ".complete"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pool = _paragraphs()
    words = 0
    article = 0
    while words < target_chunks * WORDS_PER_CHUNK:
        picked = rng.sample(pool, PARAGRAPHS_PER_ARTICLE)
        body = []
        for sentences in picked:
            shuffled = sentences[:]
            rng.shuffle(shuffled)
            body.append(" ".join(shuffled))
        text = f"Synthetic article {article}\n\n" + "\n\n".join(body) + "\n"
        (folder / f"article-{article:06d}.txt").write_text(text, encoding="utf-8")
        words += len(text.split())
        article += 1
    done.write_text(str(article))
    return folder
