"""The article page that citation links open (article_page): signed links, escaped text, the quote marked."""

from __future__ import annotations

import pytest

from assistant.models import Citation
from assistant.settings import Settings
from assistant.web.article_page import ArticleLinks, _page, link_secret

pytestmark = pytest.mark.fast

TEXT = 'Intro.\n\nThe <script>alert("x")</script> group met on Monday.\n\nEnd.'


def citation(**changes) -> Citation:
    start = TEXT.index("The <script>")
    end = TEXT.index("Monday.") + len("Monday.")
    fields = dict(n=1, article_id="a1b2", title="A <b>title</b>", source="x.txt", quote=TEXT[start:end],
                  start=start, end=end, score=1.0)
    return Citation(**{**fields, **changes})


def test_the_page_escapes_the_article_and_marks_the_quote():
    cited = citation()
    page = _page(cited.title, TEXT, "javascript:alert(1)", cited.start, cited.end)
    assert "<script>" not in page and "<b>" not in page
    assert '<mark id="quote">The &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; group met on Monday.</mark>' in page
    assert "javascript:" not in page  # only http(s) links are shown


@pytest.mark.parametrize("start, end", [(None, None), (5, 2), (0, len(TEXT) + 1), (-1, 3)])
def test_a_span_that_does_not_fit_shows_the_text_unmarked(start, end):
    page = _page("T", TEXT, None, start, end)
    assert "<mark" not in page and "group met on Monday." in page


def test_links_are_signed_per_article():
    links = ArticleLinks("secret")
    url = links.url("http://127.0.0.1:7860/", citation())
    assert url.startswith("http://127.0.0.1:7860/read/a1b2?start=") and url.endswith("#quote")
    signature = url.split("sig=")[1].split("#")[0]
    assert links.valid("a1b2", signature)
    assert not links.valid("other", signature)
    assert not ArticleLinks("another secret").valid("a1b2", signature)
    assert not links.valid("a1b2", "")


def test_an_article_link_expires(monkeypatch):
    import itsdangerous.timed

    links = ArticleLinks("secret", max_age_s=86_400)
    signature = links.signature("a1b2")
    assert links.valid("a1b2", signature) and signature == links.signature("a1b2")  # the same within the hour
    now = itsdangerous.timed.time.time()
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: now + 2 * 86_400)
    assert not links.valid("a1b2", signature)
    assert ArticleLinks("secret").valid("a1b2", signature)  # no max age: for ever


def test_an_article_with_its_own_link_is_cited_by_it_scrolled_to_the_quote():
    url = ArticleLinks("s").url("http://127.0.0.1:7860", citation(url="https://news.example/story#top",
                                                                   quote="A well-known, much-cited sentence & more"))
    assert url == "https://news.example/story#:~:text=A%20well%2Dknown%2C%20much%2Dcited%20sentence%20%26%20more"


def test_the_link_secret_outlives_a_restart(tmp_path):
    settings = Settings(index_dir=tmp_path / "index")
    first = link_secret(settings)
    assert first == link_secret(settings) and len(first) >= 32
    assert (tmp_path / "index" / "article-links.secret").stat().st_mode & 0o077 == 0
    assert link_secret(Settings(index_dir=tmp_path / "index", session_secret="shared")) == "shared"
