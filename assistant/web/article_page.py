"""The article page: a cited article as a person reads it, opened from a link in an answer.

Clients of /v1 (chat front ends, LangChain, LlamaIndex) show a citation as a link, and a person opening it
has no API key to send. So the link carries a signature of the article id instead: the server signs it when
it cites the article to a caller who passed the key check, and ``GET /read/{article_id}?sig=…`` shows that
one article (a wrong, missing or expired signature is the same 404 as a missing article: ids are not to be probed).
A signature lasts ``article_link_days`` (as long as a stored conversation, by default): a link copied out of an
answer does not open the article for ever after its caller's key is revoked.
``start``/``end`` mark the quoted span and ``#quote`` scrolls to it.

The page is the article's stored text, escaped, with no script at all (its Content-Security-Policy allows
none); the article's own link, when it has one, is shown as a plain link.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from itsdangerous import BadSignature, TimestampSigner

from ..errors import ArticleNotFound
from ..folders import make_private
from .render import safe_link

if TYPE_CHECKING:
    from ..core import Assistant
    from ..models import Citation
    from ..settings import Settings

log = logging.getLogger("assistant.web")

PATH = "/read/"
SECRET_FILE = "article-links.secret"
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def link_secret(settings: Settings) -> str:
    """``session_secret`` when set (replicas share it); otherwise one kept beside the index, so that links in
    a client's stored conversations outlive a restart."""
    if settings.session_secret:
        return settings.session_secret.get_secret_value()
    path = Path(settings.index_dir) / SECRET_FILE
    try:
        make_private(path.parent)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
            out.write(secrets.token_urlsafe(32))
    except FileExistsError:
        pass
    except OSError as exc:  # a read-only index: links last as long as this process
        log.warning("article links will not outlive this process: %s", exc)
        return secrets.token_urlsafe(32)
    return path.read_text().strip()


class _HourSigner(TimestampSigner):
    """Signs with the hour, not the second: an article's link is the same in every answer of that hour (two replies
    to one question carry the same Sources), and it lasts its age to the hour."""

    def get_timestamp(self) -> int:
        return super().get_timestamp() // 3600 * 3600


class ArticleLinks:
    """Signs and checks the links to article pages; a signature is valid for ``max_age_s`` (None: for ever), counted
    from the hour it was made in."""

    def __init__(self, secret: str, max_age_s: float | None = None):
        self._signer = _HourSigner(secret, salt="assistant-article-page")
        self.max_age_s = max_age_s

    def signature(self, article_id: str) -> str:
        """When it was signed and the signature ("TIMESTAMP.SIGNATURE"), without the article id it signs."""
        return self._signer.sign(article_id).decode()[len(article_id) + 1 :]

    def valid(self, article_id: str, signature: str) -> bool:
        try:
            self._signer.unsign(f"{article_id}.{signature}",
                                max_age=None if self.max_age_s is None else self.max_age_s + 3600)
        except BadSignature:  # a forged or expired one (SignatureExpired is a BadSignature)
            return False
        return True

    def url(self, base: str, citation: Citation) -> str:
        """Where a person reads ``citation``: the article's own link (scrolled to the quote by a text fragment
        where the browser supports one), else this server's article page at the quoted span."""
        if safe_link(citation.url):  # http(s) only, an older index's links too
            return citation.url.split("#", 1)[0] + "#:~:text=" + _text_fragment(citation.quote)
        query = urlencode({"start": citation.start, "end": citation.end, "q": quote_mark(citation.quote),
                           "sig": self.signature(citation.article_id)})
        return f"{base.rstrip('/')}{PATH}{quote(citation.article_id, safe='')}?{query}#quote"


def quote_mark(quoted: str) -> str:
    """A short digest of the quoted words: the page marks start..end only while they are still those words (an
    article replaced since keeps its id, and the same span would mark whatever is there now)."""
    return hashlib.sha256(quoted.encode()).hexdigest()[:12]


def _text_fragment(quote_text: str, words: int = 5) -> str:
    """A text fragment (``#:~:text=start,end``) naming the quote by its first and last few words."""
    parts = quote_text.split()
    if len(parts) <= 2 * words:
        pieces = [" ".join(parts)]
    else:
        pieces = [" ".join(parts[:words]), " ".join(parts[-words:])]
    # '-', ',' and '&' are the fragment's own syntax, so they are escaped inside its terms.
    return ",".join(quote(piece, safe="").replace("-", "%2D") for piece in pieces)


def base_url(request: Request, settings: Settings) -> str:
    """This server's origin as the caller reached it (its Host is checked by the guard), or ``public_url``."""
    return settings.public_url or str(request.base_url)


def article_page_router(links: ArticleLinks) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.api_route(PATH + "{article_id}", methods=["GET", "HEAD"])
    def article_page(article_id: str, request: Request, sig: str = "", start: int | None = None,
                     end: int | None = None, q: str | None = None) -> HTMLResponse:
        assistant: Assistant = request.app.state.assistant
        try:
            if not links.valid(article_id, sig):
                raise ArticleNotFound(article_id)
            article = assistant.article(article_id)
        except ArticleNotFound:  # a person clicked it: a page, the same whether the link or the article is gone
            return HTMLResponse(GONE, status_code=404, headers=PAGE_HEADERS)
        if q is not None and start is not None and end is not None and quote_mark(article.text[start:end]) != q:
            start = end = None  # the article changed since it was quoted: its text unmarked, as the page says
        return HTMLResponse(_page(article.title, article.text, article.url, start, end), headers=PAGE_HEADERS)

    return router


GONE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Link expired or not valid · Article assistant</title></head>
<body><main><h1>This link has expired or is not valid</h1>
<p>Links to articles in answers last a limited time. Ask the question again for a fresh link.</p></main></body></html>
"""


def _page(title: str, text: str, url: str | None, start: int | None, end: int | None) -> str:
    if start is not None and end is not None and 0 <= start < end <= len(text):
        body = f'{escape(text[:start])}<mark id="quote">{escape(text[start:end])}</mark>{escape(text[end:])}'
    else:  # no span, or one that does not fit this text (the article changed since): the text unmarked
        body = escape(text)
    own = ""
    if url and urlsplit(url).scheme in ("http", "https"):
        own = f'<p class="source"><a href="{escape(url)}" rel="noopener noreferrer nofollow">{escape(url)}</a></p>'
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>
body {{ font: 17px/1.6 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }}
h1 {{ font-size: 1.5rem; line-height: 1.3; overflow-wrap: anywhere; }}
.source {{ font-size: .9rem; overflow-wrap: anywhere; }}
.text {{ white-space: pre-wrap; overflow-wrap: anywhere; }}
mark {{ background: #fff1a8; padding: .1em 0; scroll-margin-top: 30vh; }}
</style></head>
<body><main><h1 dir="auto">{escape(title)}</h1>{own}<div class="text" dir="auto">{body}</div></main></body></html>"""
