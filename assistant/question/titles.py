"""An article named by its title in a request: in quotes, exactly, or loosely.

    Summarize the article "Ad sales boost Time Warner profit".     quoted: the article of that title
    Summarize ad sales boost time warner profit                    the whole title, any case and punctuation
    When did profits jump in “Ad sales boost TimeWarner profits”?  quoted, loosely: the closest title, if close

A quoted phrase must be about as long as the title it names (edit distance, not word overlap), so a quoted
term ('What does "JIG" stand for?') never names an article whose title merely contains it.

A title names one article, or several that share it (then the request is ambiguous and says which ones it
could be). Unquoted titles count only when whole and at least three words long, so a question's ordinary
words never scope it by chance.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from ..text import without_accents

# Double quotes of any kind; single quotes only around a phrase (not an apostrophe inside "Kerry's").
_QUOTED = re.compile(r"[\"“”«„]([^\"“”«»„]{3,300})[\"“”»]|(?:^|(?<=[\s(]))[‘']([^‘’']{3,300})[’'](?=[\s.,;:!?)]|$)")
LOOSE_SCORE = 85.0  # similarity (0-100, edit distance) a quoted phrase needs with a title to name it loosely
TIE = 3.0  # titles scoring within this of the best are as likely: the request is ambiguous
MIN_UNQUOTED_WORDS = 3
QUOTED_PHRASES = 5  # the quoted phrases of a question compared with the titles (the first ones)


@dataclass(frozen=True)
class NamedArticles:
    """The articles a request names by title: one, or several it could mean; ``said`` is how it named them."""

    article_ids: tuple[str, ...]
    said: str
    quotation: str | None = None  # the quotation that named them, marks and all (None: named unquoted)

    @property
    def ambiguous(self) -> bool:
        return len(self.article_ids) > 1

    def asked_without(self, question: str) -> str:
        """The question without the quotation that named the article: the title is where to look, not what is
        asked, and the reader reads its words as part of the question (for 'What rose 2% in "Ad sales boost Time
        Warner profit"?' the answer sentence scored -2.4 with them, 4.7 without)."""
        if not self.quotation or self.quotation not in question:
            return question
        rest = " ".join(question.replace(self.quotation, " ", 1).split())
        return re.sub(r"\s+([?.!,;:])", r"\1", rest).strip(" ,;:") or question


def normalized(text: str) -> str:
    """Case, accents, punctuation and spacing folded: "TimeWarner’s" ~ "timewarner s"."""
    text = without_accents(text.casefold())
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def quotes_something(question: str) -> bool:
    """Whether the question quotes a phrase (an apostrophe, as in "Kerry's", is no quotation)."""
    return _QUOTED.search(question) is not None


def folded(titles: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(id, title) pairs with each title ``normalized``: what ``named_articles`` matches against."""
    return [(article_id, normalized(title)) for article_id, title in titles]


def named_articles(question: str, folded: Sequence[tuple[str, str]]) -> NamedArticles | None:
    """The articles (of ``folded``: (id, normalized title) pairs) the question names by title, or None."""
    # A question quotes a title or two; each phrase is compared with every title, so only the first few are.
    for match in itertools.islice(_QUOTED.finditer(question), QUOTED_PHRASES):
        said = (match.group(1) or match.group(2)).strip()
        found = _closest(normalized(said), folded)
        if found:
            return NamedArticles(found, said, match.group(0).strip())
    text = f" {normalized(question)} "
    whole = [(article_id, title) for article_id, title in folded
             if len(title.split()) >= MIN_UNQUOTED_WORDS and f" {title} " in text]
    if whole:
        longest = max(len(title) for _, title in whole)
        ids = tuple(article_id for article_id, title in whole if len(title) == longest)
        return NamedArticles(ids, next(title for _, title in whole if len(title) == longest))
    return None


def titled_articles(said: str, folded: Sequence[tuple[str, str]], *, exact: bool = False) -> NamedArticles | None:
    """The articles (of ``folded``) whose title ``said`` is: the title itself (``exact``: nothing else); else the
    closest titles within a few typos; else the titles that hold its words whole ("Tesla" in "Nikola Tesla")."""
    key = normalized(said)
    if exact:
        found = tuple(article_id for article_id, title in folded if title == key)
    else:
        found = _closest(key, folded) or tuple(article_id for article_id, title in folded if f" {key} " in f" {title} ")
    return NamedArticles(found, said) if key and found else None


def _closest(said: str, folded: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    if not said:
        return ()
    exact = tuple(article_id for article_id, title in folded if title == said)
    if exact:
        return exact
    scored = process.extract(said, {i: title for i, (_, title) in enumerate(folded)}, scorer=fuzz.ratio,
                             score_cutoff=LOOSE_SCORE, limit=None)
    if not scored:
        return ()
    best = scored[0][1]
    return tuple(folded[key][0] for _, score, key in scored if score >= best - TIE)
