"""Clean extracted text: drop page furniture and repeated paragraphs.

News pages copied as text carry lines that are not the article ("3 min read",
"[Click to enlarge]", photo captions ending in a credit like "[Getty]") and
sometimes the same paragraph twice. Both would pollute retrieval and citations.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

from dateutil import parser as dateparser

from ..text import strip_controls, strip_invisible

# Whole lines that are page chrome, not article text.
_FURNITURE = [
    re.compile(r"^\d+\s*(?:min|mins|minute|minutes)\s+read$", re.I),
    re.compile(r"^\[?\s*click (?:here )?to (?:enlarge|expand|view)[^\]]*\]?$", re.I),
    re.compile(r"^(?:advertisement|sponsored|share this article|share|tweet|print|email)$", re.I),
    re.compile(r"^(?:read more|related|recommended|most read)\s*:?$", re.I),
    # A printed page's number: "Page 1 of 2 - example.org", "- 2 -".
    re.compile(r"^page \d+(?: of \d+)?(?:\s*[-–—|·].*)?$", re.I),
    re.compile(r"^[-–—]\s*\d{1,4}\s*[-–—]$"),
    # A cookie notice and its buttons, where a page's extraction kept them: "We use cookies to improve your
    # experience. …", "Accept all cookies". Only a line that opens so, and is short: an article about cookies stays.
    re.compile(r"^(?:we(?: and our partners)? use cookies|this (?:web)?site uses cookies|by (?:continuing to )?"
               r"(?:use|using|browse|browsing) this (?:web)?site,? you (?:agree|accept|consent) to)\b.{0,300}$", re.I),
    re.compile(r"^(?:accept|reject)(?: all)?(?: cookies)?$|^(?:cookie (?:settings|preferences|policy)|manage "
               r"(?:cookies|cookie preferences|preferences))$", re.I),
    # A photo caption: a line that ends in a bracketed picture credit.
    re.compile(r"^.{0,300}\[(?:getty|getty images|afp|ap|reuters|epa|anadolu|file photo|photo|image)[^\]]{0,40}\]$", re.I),
]

_WS = re.compile(r"[ \t\u00a0]+")
# A typesetter's ligatures (U+FB00–FB06, "ﬁnancial") as their letters, so a search or a quote finds "financial".
# Only these: NFKC would also rewrite superscripts, fractions and full-width forms.
_LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                            "\ufb05": "st", "\ufb06": "st"})

# A Daily Mail byline as scraped: "By . Associated Press . PUBLISHED: . 14:11 EST, 25 October 2013 . | .
# UPDATED: . 15:36 EST, 25 October 2013 . " (or "By . John Hall . and Ted Thornhill . ", "Last updated at
# 2:18 PM on 30th December 2011 . "): page furniture before the article's first sentence.
_BYLINE = re.compile(
    r"\A\s*By\s+\.\s+[^.]{1,60}?\s+\.\s+(?:and\s+[^.]{1,60}?\s+\.\s+)*"
    r"(?P<stamps>(?:(?:PUBLISHED|UPDATED):\s+\.\s+[^.|]{4,40}?\d{4}\s+\.\s+(?:\|\s+\.\s+)?)*)"
    r"(?:Last updated at [^.]{4,60}?\d{4}\s+\.\s+)?"
)
_STAMP_DATE = re.compile(r"(?:PUBLISHED|UPDATED):\s+\.\s+\d{1,2}:\d{2}\s+\w+,\s+(\d{1,2}\s+\w+\s+\d{4})")


def strip_byline(text: str) -> tuple[str, str | None]:
    """The text without a leading scraped byline, and the date it stamped (ISO), if any."""
    match = _BYLINE.match(text)
    if not match:
        return text, None
    published = None
    stamp = _STAMP_DATE.search(match.group("stamps") or "")
    if stamp:
        try:
            published = dateparser.parse(stamp.group(1)).date().isoformat()
        except (ValueError, OverflowError):
            published = None
    return text[match.end():], published


# Lines at a page's top and bottom where a running header or footer sits; a page's number once its digits are
# "#": "#", "- # -", "Page # of #", "Harbor Quarterly | #".
_EDGE_LINES = 2
_PAGE_NUMBER = re.compile(r"(?:.{1,80} [|·•–—-] )?(?:page )?#(?: of #)?(?: [|·•–—-] .{1,80})?|[-–—] ?# ?[-–—]")


def join_pages(pages: list[str]) -> str:
    """A PDF's pages as one text, without the running headers, footers and page numbers at their tops and bottoms
    (a line there that repeats, digits aside, in the same place on half the pages), and with a sentence that a
    page break cut going on: only a page that ends a sentence ends a paragraph. A line repeated at the top is kept
    where it first stands (a title, a table's header row, a heading: a running header then stays once), one
    repeated at the bottom nowhere (a footer would cut the sentence that goes on past it)."""
    texts = [page for page in pages if page.strip()]
    if len(texts) < 2:
        return "\n\n".join(pages)
    lines = [page.replace("\r\n", "\n").replace("\r", "\n").split("\n") for page in texts]
    edges = [_edges(page) for page in lines]
    placed = Counter(key for page in edges for key in {key for keys in page.values() for key in keys})
    need = max(2, math.ceil(len(texts) / 2))
    furniture = {key for key, count in placed.items() if count >= need}
    # A page number goes up with the page: the offset most of them share tells "12" on page 12 from a table's "1200".
    offsets = Counter(_number(page[i]) - n for n, (page, edge) in enumerate(zip(lines, edges))
                      for i, keys in edge.items() if any(k in furniture and _PAGE_NUMBER.fullmatch(k[2]) for k in keys))
    offset = offsets.most_common(1)[0][0] if offsets else None
    said: set[str] = set()  # the edge lines kept so far, digits as "#"

    def kept_line(n: int, page: list[str], i: int, edge: dict) -> bool:
        keys = edge.get(i, ())
        found = [(where, text) for where, slot, text in keys if (where, slot, text) in furniture]
        if any(_PAGE_NUMBER.fullmatch(text) for _, text in found):
            if _number(page[i]) - n == offset:
                return False
            found = []  # a number in the page's own text
        if any(where == "bottom" for where, _ in found):
            return False
        if found and found[0][1] in said:
            return False
        said.update(text for _, _, text in keys)
        return True

    out = ""
    for n, (page, edge) in enumerate(zip(lines, edges)):
        kept = "\n".join(line for i, line in enumerate(page) if kept_line(n, page, i, edge)).strip()
        if kept and out:  # a page ending inside a sentence goes on as a wrapped line does (cleaning unwraps it)
            out += ("\n" if _OPEN_END.search(out[-1:]) else "\n\n") + kept
        elif kept:
            out = kept
    return out


def _number(line: str) -> int:
    """The first number in a line (a page number's line has one)."""
    return int(re.search(r"\d+", line).group()[:9])


def _edges(page: list[str]) -> dict[int, list[tuple[str, int, str]]]:
    """The page's first and last few non-blank lines, by index: where each is (top or bottom, its place from that
    edge) and the line with its digits as "#"."""
    filled = [i for i, line in enumerate(page) if line.strip()]
    found: dict[int, list[tuple[str, int, str]]] = {}
    for where, order in (("top", filled), ("bottom", filled[::-1])):
        for slot, i in enumerate(order[:_EDGE_LINES]):
            key = re.sub(r"\d+", "#", _WS.sub(" ", page[i]).strip().casefold())
            found.setdefault(i, []).append((where, slot, key))
    return found


def fold_ligatures(text: str) -> str:
    return text.translate(_LIGATURES)


def clean_text(text: str) -> str:
    """Normalise whitespace and Unicode (ligatures as letters), drop furniture lines and repeated paragraphs."""
    text = fold_ligatures(text.replace("\r\n", "\n").replace("\r", "\n"))
    # Breaks of other kinds are breaks, not nothing: a PDF's pages end in a form feed ("town hall\fThe bridge").
    text = _BREAKS.sub("\n", text)
    # A soft hyphen where a line breaks hyphenates the word across it: "sum\u00ad" + "mer" is "summer".
    text = text.replace("\u00ad\n", "")
    # Controls and invisible characters go before NFC, so "e\u200b\u0301" composes to "é".
    text = unicodedata.normalize("NFC", strip_invisible(strip_controls(text)))
    lines = [_WS.sub(" ", raw).strip() for raw in text.split("\n")]
    lines = _unwrapped([line for line in lines if not any(p.match(line) for p in _FURNITURE)])
    kept: list[str] = []
    seen: set[str] = set()
    for line in lines:
        if not line:
            if kept and kept[-1] != "":
                kept.append("")
            continue
        key = _dedupe_key(line)
        if key in seen and len(key) > 0:
            continue  # the same paragraph (or title) again, perhaps differing only in punctuation
        seen.add(key)
        kept.append(line)
    return "\n".join(kept).strip()


# A line cut inside a sentence: it ends in no stop or closing mark, and the next goes on in lower case.
_OPEN_END = re.compile(r"[^.!?:;\"”’)\]|]$")
_HYPHENATED = re.compile(r"([^\W\d_]+)-$")  # "Brü-" + "cke"
_WORD_END = 64  # how much of a line's end the hyphenated word is looked for in
_LETTERS = re.compile(r"[^\W\d_]+")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")  # "self-driving" is one
_BREAKS = re.compile("[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_ITEM = re.compile(r"[-*•|#>]|\d+[.)]\s")  # a list item, table row, heading or quote: a line of its own


def _goes_on(line: str) -> bool:
    """The line starts in lower case, in any alphabet ("über den Rhein" as much as "over the Rhine")."""
    return line[:1].islower()


def _unwrapped(lines: list[str]) -> list[str]:
    """Lines a PDF or a hard-wrapped text broke inside a sentence, joined again (a word hyphenated at the break,
    "sum-" + "mer", made whole; a compound, "self-" + "driving", keeps its hyphen where the article writes it so
    elsewhere), so the sentence splitter, which ends a paragraph at every line, sees the sentence.
    Once a paragraph is seen to wrap, a line starting with a capital ("on" + "Monday.") goes on it too. A line
    that ends a sentence, a heading before a capital, a list item or a table row stays a line."""
    out: list[str] = []
    # The paragraph being joined, kept as its pieces and joined once when it ends: joining at each line copied it
    # whole each time (a 1 MB text of short lines took 11 s). ``end`` is its last _WORD_END characters, all that
    # the decisions read.
    pieces: list[str] = []
    end = ""
    wrapped = False  # the last line is already two or more joined: a paragraph that goes on, whatever the case
    words: set[str] | None = None  # the text's own words, read at its first hyphen at a break
    for line in lines:
        # Only a line's end is searched: a paragraph joined from many lines is not read again at each.
        if (end and line and _OPEN_END.search(end[-1:]) and not _ITEM.match(line)
                and (wrapped or _goes_on(line))):
            hyphen = _HYPHENATED.search(end) if end[-1] == "-" and _goes_on(line) else None
            tail = _LETTERS.match(line)
            if hyphen and tail:
                words = {w.casefold() for text in lines for w in _WORD.findall(text)} if words is None else words
                if not _a_compound(hyphen.group(1), tail.group(), words):
                    pieces[-1], end = pieces[-1][:-1], end[:-1]  # the typesetter's hyphen goes
                pieces.append(line)
                end = (end + line)[-_WORD_END:]
            else:
                pieces += (" ", line)
                end = f"{end} {line}"[-_WORD_END:]
            wrapped = True
        else:
            if pieces:
                out.append("".join(pieces))
            pieces, end = [line], line[-_WORD_END:]
            wrapped = False
    if pieces:
        out.append("".join(pieces))
    return out


def _a_compound(head: str, tail: str, words: set[str]) -> bool:
    """Whether the hyphen at a line break is the words' own ("self-" + "driving"), not the typesetter's ("consid-" +
    "ered"): only when the article writes the hyphenated form elsewhere and never the joined one. A dictionary
    would keep a wrong hyphen in everyday words it lacks ("law-makers", "lock-down"), so without the article's
    word the hyphen goes, as most hyphens at a line break are the typesetter's."""
    head, tail = head.casefold(), tail.casefold()
    return f"{head}-{tail}" in words and head + tail not in words


def _dedupe_key(line: str) -> str:
    return re.sub(r"[\W_]+", " ", line.casefold()).strip()
