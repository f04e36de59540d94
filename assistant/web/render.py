"""HTML fragments for the pages. Every piece of article or user text is escaped here."""

from __future__ import annotations

from html import escape

from ..models import Answer, ArticleInfo, Citation, display_source


def citation_html(c: Citation, *, reader: bool = False) -> str:
    """The passage with the cited sentence marked and, inside it, the answering phrase in bold."""
    passage = c.passage or c.quote
    q_start = max(0, c.start - c.passage_start) if c.passage else 0
    q_end = min(len(passage), q_start + (c.end - c.start))
    quote = passage[q_start:q_end]
    if c.highlight_start is not None and c.highlight_end is not None:
        inner = (
            escape(quote[: c.highlight_start])
            + "<strong>" + escape(quote[c.highlight_start : c.highlight_end]) + "</strong>"
            + escape(quote[c.highlight_end :])
        )
    else:
        inner = escape(quote)
    body = escape(passage[:q_start]) + f'<mark class="cited">{inner}</mark>' + escape(passage[q_end:])
    return (
        f'<div class="citation" data-n="{c.n}">'
        f'<div class="citation-head"><span class="citation-n">[{c.n}]</span> '
        f'<span class="citation-title">{escape(c.title)}</span></div>'
        f'<div class="citation-source">{escape(display_source(c.source) if reader else c.source)}'
        f'{" · " + escape(c.url) if c.url else ""} · characters {c.start}–{c.end}</div>'
        f'<blockquote class="citation-passage">{body}</blockquote></div>'
    )


def sources_html(answer: Answer | None, *, reader: bool = False) -> str:
    if answer is None:
        return '<div class="sources-empty">Cited passages appear here.</div>'
    if answer.refused or not answer.citations:
        return '<div class="sources-empty">No passage supports an answer, so nothing is cited.</div>'
    return "".join(citation_html(c, reader=reader) for c in answer.citations)


def status_html(lines: list[str]) -> str:
    return "".join(f"<p>{escape(line)}</p>" for line in lines)


def articles_html(articles: list[ArticleInfo]) -> str:
    if not articles:
        return "<p>No articles indexed yet. Upload some below.</p>"
    rows = "".join(
        f"<tr><td>{escape(a.title)}</td><td>{escape(a.published or '')}</td><td>{a.chunks}</td>"
        f"<td><code>{escape(a.id)}</code></td></tr>"
        for a in articles
    )
    return (
        f'<table class="articles"><thead><tr><th>Title</th><th>Published</th><th>Chunks</th><th>Id</th></tr></thead>'
        f"<tbody>{rows}</tbody></table><p>{len(articles)} article(s)</p>"
    )


def escape_chat_text(text: str) -> str:
    """Text shown in the Chatbot, which renders Markdown: escape HTML so it shows as text."""
    return escape(text, quote=False)


CSS = """
.citation { border: 1px solid #ddd; border-radius: 8px; padding: 8px 10px; margin-bottom: 10px; }
.citation-head { font-weight: 600; }
.citation-n { color: #2563eb; }
.citation-source { font-size: 0.8em; color: #666; word-break: break-all; }
.citation-passage { margin: 6px 0 0; font-size: 0.92em; white-space: pre-wrap; }
mark.cited { background: #fde68a; padding: 0 2px; }
.sources-empty { color: #777; font-style: italic; }
table.articles { width: 100%; font-size: 0.9em; }
"""
