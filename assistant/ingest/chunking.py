"""Chunk stage: an :class:`Article` → ``[Chunk]`` sized in embedder tokens.

Chunks are runs of whole sentences (a sentence longer than the budget is cut at
word boundaries), consecutive chunks share ``overlap`` tokens of sentences, and
every chunk keeps its character span in the article so a citation can be
highlighted in place.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..models import Article, Chunk
from ..text import Span, split_sentences


def chunk_article(
    article: Article,
    count_tokens: Callable[[list[str]], list[int]],
    *,
    size: int,
    overlap: int,
) -> list[Chunk]:
    """Pack sentences into chunks of at most ``size`` tokens with ``overlap`` tokens shared."""
    text = article.text
    sentences, lengths = _cap_long_sentences(text, split_sentences(text), count_tokens, size)
    chunks: list[Chunk] = []
    i = 0
    while i < len(sentences):
        j, used = i, 0
        while j < len(sentences) and (j == i or used + lengths[j] <= size):
            used += lengths[j]
            j += 1
        start, end = sentences[i][0], sentences[j - 1][1]
        chunks.append(
            Chunk(
                id=f"{article.id}:{article.content_hash[:12]}:{len(chunks)}",
                article_id=article.id,
                text=text[start:end],
                start=start,
                end=end,
            )
        )
        if j >= len(sentences):
            break
        # Step back over trailing sentences worth at most `overlap` tokens, always advancing.
        back, k = 0, j
        while k - 1 > i and back + lengths[k - 1] <= overlap:
            k -= 1
            back += lengths[k]
        i = k
    return chunks


def _cap_long_sentences(
    text: str, spans: list[Span], count_tokens: Callable[[list[str]], list[int]], size: int
) -> tuple[list[Span], list[int]]:
    """Cut any sentence longer than ``size`` tokens at word boundaries; the spans and their token counts."""
    lengths = count_tokens([text[s:e] for s, e in spans])
    if all(n <= size for n in lengths):
        return spans, lengths  # the usual case: count once
    out: list[Span] = []
    for (s, e), n in zip(spans, lengths):
        if n <= size:
            out.append((s, e))
            continue
        words = [m.span() for m in re.finditer(r"\S+", text[s:e])]
        per_piece = max(1, int(len(words) * size / n * 0.9))
        for w in range(0, len(words), per_piece):
            piece = words[w : w + per_piece]
            out.append((s + piece[0][0], s + piece[-1][1]))
    return out, count_tokens([text[s:e] for s, e in out])
