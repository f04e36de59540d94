"""HTML fragments for the pages. Every piece of article or user text is escaped here."""

from __future__ import annotations

import re
from html import escape

from ..models import Answer, Article, ArticleInfo, Citation, FeedInfo, display_source, format_every

CITE_MARK = re.compile(r"\[(\d{1,3})\]")


def cite_href(answer_id: str, n: int) -> str:
    """Where ``[n]`` of a kept answer links to; the page's script opens the reader for it (static/page.js)."""
    return f"#cite-{answer_id}-{n}"


def answer_html(answer: Answer, answer_id: str | None = None) -> str:
    """An answer for the Chatbot: escaped text, each ``[n]`` a link to its passage in the article reader."""
    text = escape(answer.answer, quote=False)
    titles = {c.n: c.title for c in answer.citations}
    if answer_id:
        def link(match: re.Match) -> str:
            n = int(match.group(1))
            if n not in titles:
                return match.group(0)
            label = escape(f"Citation {n}: open {titles[n]} at the quoted passage")
            return f'<a class="cite" href="{cite_href(answer_id, n)}" aria-label="{label}">[{n}]</a>'

        text = CITE_MARK.sub(link, text)
    if answer.notice:
        text += f"\n\n<em>{escape(answer.notice, quote=False)}</em>"
    return text


def phrase_in_bold(quote: str, c: Citation) -> str:
    """The quote, escaped, with the answering phrase (the citation's highlight) in bold."""
    if c.highlight_start is None or c.highlight_end is None:
        return escape(quote)
    return (escape(quote[: c.highlight_start]) + "<strong>" + escape(quote[c.highlight_start : c.highlight_end])
            + "</strong>" + escape(quote[c.highlight_end :]))


def citation_html(c: Citation, *, reader: bool = False, answer_id: str | None = None, selected: bool = False) -> str:
    """The passage with the cited sentence marked and, inside it, the answering phrase in bold."""
    passage = c.passage or c.quote
    q_start = max(0, c.start - c.passage_start) if c.passage else 0
    q_end = min(len(passage), q_start + (c.end - c.start))
    quote = passage[q_start:q_end]
    body = escape(passage[:q_start]) + f'<mark class="cited">{phrase_in_bold(quote, c)}</mark>' + escape(passage[q_end:])
    opener = (f' <a class="open-reader" href="{cite_href(answer_id, c.n)}">Read it in the article'
              f'<span class="visually-hidden"> ({escape(c.title)}, citation {c.n})</span></a>') if answer_id else ""
    return (
        f'<div class="citation{" selected" if selected else ""}" data-n="{c.n}">'
        f'<div class="citation-head"><span class="citation-n">[{c.n}]</span> '
        f'<span class="citation-title" dir="auto">{escape(c.title)}</span></div>'
        f'<div class="citation-source">{escape(display_source(c.source) if reader else c.source)}'
        f'{" · " + link_html(c.url) if c.url else ""} · characters {c.start}–{c.end}</div>'
        f'<blockquote class="citation-passage" dir="auto">{body}</blockquote>{opener}</div>'
    )


def sources_html(answer: Answer | None, *, reader: bool = False, selected: int | None = None) -> str:
    """The cited passages of one answer (a kept answer's cards open the reader)."""
    if answer is None or answer.kind == "small_talk":  # "Hi!" is answered by no passage, nor refused one
        return '<div class="sources-empty">Cited passages appear here.</div>'
    if answer.refused or not answer.citations:
        return '<div class="sources-empty">No passage supports an answer, so nothing is cited.</div>'
    return "".join(citation_html(c, reader=reader, answer_id=answer.id, selected=c.n == selected)
                   for c in answer.citations)


def safe_link(url: str | None) -> str | None:
    """A URL fit for an href: http(s) only (never javascript: or data:)."""
    return url if url and url.lower().startswith(("http://", "https://")) else None


def link_html(url: str, text: str | None = None) -> str:
    """A link to an article's own page (http/https only; anything else is shown as text)."""
    safe = safe_link(url)
    shown = escape(text or url)
    return f'<a href="{escape(safe)}" target="_blank" rel="noopener noreferrer">{shown}</a>' if safe else shown


def reader_html(article: Article, citation: Citation) -> str:
    """The whole cleaned article, the cited span marked (the page scrolls to it), with its title, date and link."""
    text = article.text
    start, end = citation.start, citation.end
    moved = text[start:end] != citation.quote
    if moved:  # re-ingested since the answer: find the quote again, or say it is gone
        found = text.find(citation.quote)
        start, end = (found, found + len(citation.quote)) if found >= 0 else (0, 0)
    meta = [f"Published {escape(article.published)}" if article.published else "No publication date",
            escape(display_source(article.source))]
    link = safe_link(article.url)
    if link:
        meta.append(f'<a href="{escape(link)}" target="_blank" rel="noopener noreferrer">Original article</a>')
    if moved and end == 0:
        note = ("The article has changed since this answer; the quoted passage is no longer in it: "
                f"<q>{escape(citation.quote)}</q>")
        body = escape(text)
    else:
        note = f"Citation [{citation.n}] is highlighted."
        body = (escape(text[:start]) + f'<mark class="cited" id="reader-cited">{phrase_in_bold(text[start:end], citation)}'
                "</mark>" + escape(text[end:]))
    return (
        '<section class="reader" aria-labelledby="reader-title">'
        f'<h3 class="reader-title" id="reader-title" tabindex="-1" dir="auto">{escape(article.title)}</h3>'
        f'<p class="reader-meta">{" · ".join(meta)}</p><p class="reader-note">{note} '
        '<a class="reader-back" href="#reader-back">Back to the answer</a></p>'
        f'<div class="reader-text" dir="auto" role="region" tabindex="0" aria-label="Text of {escape(article.title)}">{body}</div>'
        "</section>"
    )


def reader_message_html(message: str) -> str:
    return f'<div class="sources-empty" role="status">{escape(message)}</div>'


def index_notice_html(empty: bool, may_add: bool) -> str:
    """Said at the top of the page while nothing is indexed (every answer would be a refusal)."""
    if not empty:
        return ""
    where = ("Add some under <a href=\"#articles-box\">Articles</a> below, with the upload box or a link."
             if may_add else "Adding them is for the server's administrators: ask them to add some, or sign in under "
             "<a href=\"#articles-box\">Articles</a> below.")
    return (f'<div class="index-notice" role="status"><strong>No articles are indexed yet</strong>, so no question '
            f"can be answered. {where}</div>")


def status_html(lines: list[str]) -> str:
    """What an upload, link or removal did (its box, #upload-status, is a live region: static/page.js)."""
    return "".join(f"<p>{escape(line)}</p>" for line in lines)


# The page lists this many articles, the most recent: 5,000 rows made the page 200,000 px tall, with the admin's
# controls below them, and sent every visitor 0.9 MB of table.
ARTICLES_LISTED = 100


def articles_html(articles: list[ArticleInfo]) -> str:
    if not articles:
        return "<p>No articles indexed yet. Upload some below.</p>"
    listed = sorted(articles, key=lambda a: a.published or "", reverse=True)[:ARTICLES_LISTED]
    rows = "".join(
        f"<tr><td>{escape(a.title)}{' · ' + link_html(a.url, 'original') if a.url else ''}</td>"
        f"<td>{escape(a.published or '')}</td><td>{a.chunks}</td><td>{escape(', '.join(a.collections))}</td>"
        f"<td><code>{escape(a.id)}</code></td></tr>"
        for a in listed
    )
    count = (f"{len(articles)} article(s), most recent first" if len(listed) == len(articles) else
             f"The {len(listed)} most recent of {len(articles):,} articles. Type in <b>Articles in view</b> to find "
             "any other; <code>assistant list</code> or <code>GET /api/articles</code> lists them all.")
    return (
        '<table class="articles"><thead><tr><th>Title</th><th>Published</th><th>Chunks</th><th>Collections</th>'
        f"<th>Id</th></tr></thead>"
        f"<tbody>{rows}</tbody></table><p>{count}</p>"
    )


def feeds_html(feeds: list[FeedInfo]) -> str:
    """The feeds the server polls, each with its last poll: its error in words, when it failed."""
    if not feeds:
        return ("<p>No feeds. <code>assistant feeds add URL --collection NAME --every 30m</code> (or POST /api/feeds) "
                "makes the server poll one.</p>")
    rows = "".join(
        f"<tr><td>{escape(f.url)}</td><td>{escape(f.collection)}</td><td>{escape(format_every(f.every_s))}</td>"
        f"<td>{escape(f.last_polled_at or 'never')}</td>"
        + (f'<td class="feed-error">Error: {escape(f.last_error)}</td>' if f.last_error
           else f"<td>{escape(f.last_report or 'not polled yet')}</td>")
        + "</tr>"
        for f in feeds
    )
    return ('<table class="articles feeds"><thead><tr><th>Feed</th><th>Collection</th><th>Every</th>'
            f"<th>Last polled</th><th>Last poll</th></tr></thead><tbody>{rows}</tbody></table>")


def escape_chat_text(text: str) -> str:
    """Text shown in the Chatbot, which renders Markdown: escape HTML so it shows as text."""
    return escape(text, quote=False)


CSS = """
.citation { border: 1px solid #ddd; border-radius: 8px; padding: 8px 10px; margin-bottom: 10px; }
.citation-head { font-weight: 600; }
.citation-n { color: #2563eb; }
.citation-source { font-size: 0.8em; color: #666; word-break: break-all; }
.citation-passage { margin: 6px 0 0; font-size: 0.92em; white-space: pre-wrap; }
mark.cited { background: #fde68a; color: #111827; padding: 0 2px; }
.sources-empty { color: #4b5563; font-style: italic; }
table.articles { width: 100%; font-size: 0.9em; }
.feed-error { color: #b91c1c; }
a.cite { color: #1d4ed8; font-weight: 600; text-decoration: underline; padding: 0 1px; }
a.cite:focus-visible, a.open-reader:focus-visible { outline: 3px solid #1d4ed8; outline-offset: 1px; }
a.open-reader { display: inline-block; margin-top: 4px; font-size: 0.85em; color: #1d4ed8; }
.citation.selected { border-color: #2563eb; box-shadow: 0 0 0 1px #2563eb; }
.reader { border: 1px solid #cbd5e1; border-radius: 8px; padding: 10px 12px; margin-top: 12px; }
.reader-title { margin: 0 0 4px; font-size: 1.05em; }
.reader-meta, .reader-note { margin: 2px 0; font-size: 0.85em; color: #475569; }
.reader-text { margin-top: 8px; max-height: 60vh; overflow-y: auto; white-space: pre-wrap; line-height: 1.5;
  font-size: 0.95em; }
.reader-text mark.cited { background: #fde68a; color: #111827; outline: 2px solid #f59e0b; }
.index-notice { border: 1px solid #f59e0b; background: #fffbeb; color: #78350f; border-radius: 8px; padding: 10px 12px; }
.index-notice a { color: #1d4ed8; }
/* Contrast (WCAG AA, 4.5:1) for the theme's orange and red buttons */
button.primary { background: #1d4ed8 !important; border-color: #1d4ed8 !important; color: #fff !important; }
button.primary:hover { background: #1e40af !important; }
button.stop { background: #b91c1c !important; border-color: #b91c1c !important; color: #fff !important; }
input.subdued { color: #4b5563 !important; }  /* the article pickers' text */
/* Gradio's dark theme (the system's preference): the colours above, readable on its dark background. One
   selector a rule: Gradio scopes custom CSS by moving a rule's first ".dark" to the front of each selector. */
.dark a.cite { color: #93c5fd; }
.dark a.open-reader { color: #93c5fd; }
.dark .citation-n { color: #93c5fd; }
.dark a.cite:focus-visible { outline-color: #93c5fd; }
.dark a.open-reader:focus-visible { outline-color: #93c5fd; }
.dark .citation-source { color: #a1a1aa; }
.dark .reader-meta { color: #a1a1aa; }
.dark .reader-note { color: #a1a1aa; }
.dark .sources-empty { color: #a1a1aa; }
.dark .feed-error { color: #fca5a5; }
.dark input.subdued { color: #d4d4d8 !important; }
#upload-box { --body-text-color-subdued: #4b5563; }  /* the upload box's "- or -" */
.dark #upload-box { --body-text-color-subdued: #a1a1aa; }
#conversations { --block-info-text-color: #4b5563; }  /* "None yet: …" */
.dark #conversations { --block-info-text-color: #a1a1aa; }
/* Nothing to delete while no conversation is open (a new one, or none yet) */
#sidebar:not(:has(#conversations input:checked)) #delete-conversation { display: none; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
"""
