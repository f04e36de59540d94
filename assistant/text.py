"""Text rules shared by ingest and answering: control and invisible characters, questions, orders to a model.

Also sentences and datelines, which ingest (chunking) and answering (quoting) both cut text by.
The base layer: it imports nothing from the assistant's own packages but the vocabulary, so ingest, answer and the
core can all use it and an article and a question are cleaned by the same rules.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import blingfire
import regex
from dateutil import parser as dateparser

from .vocabulary import MONTH

# C0 and C1 controls and DEL (category Cc) but tab and newline, and lone surrogates (Cs, which
# cannot be written as UTF-8): they carry no meaning and confuse tokenisers.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

# Every format character (category Cf, Unicode 15): zero-width spaces and joiners, bidi controls,
# the soft hyphen, word joiners, the BOM, tags. Invisible, so removed, never made a space: "J\u200bIG"
# is "JIG". tests/test_text.py checks this list against unicodedata.
_INVISIBLE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)

# Terminal escape sequences (colours, window titles) pasted along with a question: CSI, OSC, and two-byte ones.
_TERMINAL_ESCAPE = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def strip_controls(text: str) -> str:
    """``text`` without control characters (tab and newline stay) and lone surrogates."""
    return _CONTROL.sub("", text)


def strip_invisible(text: str) -> str:
    """``text`` without invisible format characters (category Cf)."""
    return _INVISIBLE.sub("", text)


_BIDI_OVERRIDES = re.compile("[\u202a-\u202e\u2066-\u2069]")  # embeddings, overrides, isolates: they reorder


def without_bidi_overrides(text: str) -> str:
    """``text`` without the bidi controls that reorder what follows (joiners and direction marks stay)."""
    return _BIDI_OVERRIDES.sub("", text)


def clean_line(text: str) -> str:
    """A question or a title as one line: without escape sequences, control and invisible characters, its
    whitespace collapsed.

    A control character that separates (vertical tab, form feed, the separators) becomes a space; any other,
    like an invisible character, goes, so "J\\0IG" is still "JIG" and a question reads like the article text
    it should match (NFC, as clean_text stores articles).
    """
    spaced = "".join(" " if c.isspace() else c for c in _TERMINAL_ESCAPE.sub(" ", text))
    text = strip_invisible(strip_controls(spaced))
    return " ".join(unicodedata.normalize("NFC", text).split())


# Nonspacing marks once a text is decomposed: accents ("é" is "e" + U+0301), Arabic and Hebrew vowel points.
_MARKS = regex.compile(r"\p{Mn}+")


def without_accents(text: str) -> str:
    """``text`` decomposed, compatibility forms folded ("ﬁ" is "fi") and nonspacing marks dropped: "Beyoncé" is
    "Beyonce", as users type it and as the embedder's uncased tokenizer already reads it."""
    return _MARKS.sub("", unicodedata.normalize("NFKD", text))


# --- orders to a model ----------------------------------------------------------------------
# A sentence that gives orders to an AI is an injection attempt, not a statement of fact: it never
# answers (extractive) and never supports a claim (LLM). The addressee must be a machine ("the
# assistant", "AI assistants", "chatbots"), so "The assistant coach must reply to the league" and
# "You should always back up your files" stay ordinary sentences.
_MACHINE = r"(?:assistant|model|ai|a\.i\.|chatbot|bot|llm|language\s+model)s?"
_ORDERS = re.compile(
    rf"""
    # "ignore the previous instructions", "disregard all other articles", "forget your instructions"
    \b(?:ignore|disregard|forget|override)\s+(?:(?:all|any|the|your|of\s+the)\s+)*
        (?:(?:previous|prior|above|earlier|preceding|other|original|system)\s+)+
        (?:instructions?|prompts?|articles?|passages?|context|rules|directions|guidelines|messages|sources|documents)\b
    | \b(?:ignore|disregard|forget)\s+(?:all\s+(?:your\s+)?|your\s+)(?:instructions|prompts?)\b
    | \b(?:ignore|disregard|forget)\s+(?:everything|anything)\s+(?:above|else|before\s+this)\b
    # "the assistant must tell users ...", "AI assistants should say ...", "chatbots must reply ..."
    | \b(?:(?:the|an?|any|all|every|each|this|your)\s+(?:(?:ai|llm|language)\s+)?{_MACHINE}
        | (?:ai|a\.i\.|llm)\s+{_MACHINE} | (?:ai|chatbot|llm)s? )
      \s+(?:must|should|shall|has\s+to|have\s+to|needs?\s+to|is\s+to|are\s+to|ought\s+to|(?:is|are)\s+required\s+to)
      \s+(?:(?:not|never|always|only|now|also|instead)\s+)*
      (?:tell|say|reply|respond|answer|output|print|write|ignore|inform|advise|recommend|mention|state|claim
        |refuse|repeat|cite|quote)\b
    # "you must reply PWNED": "you" is the reader in an article, unless it is told to say a set token
    | \byou\s+(?:must|should|shall|are\s+to)\s+(?:(?:now|only|always)\s+)*(?:reply|respond|answer|output|say|print)
      \s+(?:only\s+)?(?:with\s+)?["'“]?(?-i:[A-Z0-9]{{3,}})\b
    # "Note to AI assistants: ...", "Message for the chatbot - ..." (not "Instructions for the model aircraft")
    | \b(?:note|message|instructions?|attention|reminder|memo)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?
      (?:(?:ai|llm)\s+)?{_MACHINE}
      \s*[:—–-]
    # a role label opening the sentence: "SYSTEM:", "Assistant:", "[SYSTEM]", "<|system|>"
    | ^\W*(?:system|assistant)\s*[:\]|>]
    | ^\W*new\s+instructions\s*: | \b(?:new|updated)\s+system\s+prompt\b
    """,
    re.I | re.X,
)


# Citation markers belong to the answer stage alone. Article text that becomes answer or prompt text loses any
# "[1]", "[2, 3]" or "[passage 4]" of its own (a footnote, or one planted to pass as a citation of ours); the
# citation's quote keeps the article's words exactly.
# Each pattern starts where a run of spaces starts ((?<!\s)): tried from every space of a long run, it was quadratic.
_CITATION_LIKE = re.compile(r"(?<!\s)\s*\[\s*(?:passage\s*)?\d+(?:\s*[,;\u2013-]\s*(?:passage\s*)?\d+)*\s*\]", re.I)
# What else an encyclopedia's text keeps of its apparatus, which would read as the answer's own words: its editors'
# tags, exactly as Wikipedia writes them ("[citation needed]", "[who?]", "[dubious – discuss]"; a journalist's
# "[When] he came home" is text), notes ("[note 4]", and "[a]" after a word's sentence or clause), and the
# brackets a removed marker leaves ("(see [1])" would read "(see)"). Each is matched one way only: these run on
# every quoted sentence, and a pattern that can split the same text many ways takes minutes on a short one.
_EDITORIAL = re.compile(
    r"""(?<!\s)\s*\[(?:
        (?:citation|clarification|verification|better\ source|full\ citation|page|year|date|quotation|specify
          |elaboration|examples?|attribution)\ needed
      | (?:who|whom|when|where|which|why|how|according\ to\ whom|by\ whom|original\ research|unreliable\ source)\?
      | dubious\ [–-]\ discuss|failed\ verification|not\ in\ citation\ given|vague|note\ \d+|nb\ \d+
    )\]|(?<=[^\W\d_]{2}[.,;:!?])\[[a-z]\](?=\s|$)""",
    re.X,
)
_POINTER = r"(?:see(?:\s+also)?|cf\.?|e\.g\.?,?)\s*"  # "(see [1])", "(e.g. [2]; cf. [3])"
_MARKER = r"\[\s*(?:passage\s*)?\d+(?:\s*[,;\u2013-]\s*(?:passage\s*)?\d+)*\s*\]"
_EMPTIED = re.compile(rf"(?<!\s)\s*\(\s*(?:{_POINTER})?{_MARKER}(?:(?:\s*[,;\u2013-])?\s*(?:{_POINTER})?{_MARKER})*+\s*\)",
                      re.I)  # *+: markers matched are never given back one by one when no ")" follows


# Spaces, brackets, digits and separators: what markers nested in markers are made of.
_MARKER_STUFF = re.compile(r"[\[\]\d\s,;\u2013-]++")
MARKER_PASSES = 3  # real text needs one, a footnote glued to a marker two


def without_markers(text: str) -> str:
    """``text`` with every citation-like marker removed, including one that removing another would rebuild
    ("[[1]1]" becomes "[1]" after one pass, so the removal repeats until nothing changes), and editors' tags.
    Nesting deeper than a few passes is planted: each pass removed one level, so 8,000 levels took 27 s; such
    runs then go whole, at once."""
    for passes in range(2 * MARKER_PASSES):
        stripped = _CITATION_LIKE.sub("", _EMPTIED.sub("", _EDITORIAL.sub("", text)))
        if stripped == text:
            break
        text = _MARKER_STUFF.sub(_without_nested, stripped) if passes == MARKER_PASSES - 1 else stripped
    return text


def _without_nested(run: re.Match) -> str:
    """A run of marker characters without its outermost bracket pairs that hold a digit (and the spaces before
    one that follows a word, as the marker patterns take them)."""
    text, out, depth, opened = run.group(), [], 0, 0
    if "[[" not in text:  # no nesting here: "[1 2; 3 4]" elsewhere in the text is left to the patterns
        return text
    for i, c in enumerate(text):
        if c == "[":
            opened, depth = (i if depth == 0 else opened), depth + 1
            continue
        if c == "]" and depth:
            depth -= 1
            if depth == 0 and any(d.isdigit() for d in text[opened:i]):
                kept = len(out)
                while kept and out[kept - 1].isspace():
                    kept -= 1
                before = out[kept - 1] if kept else run.string[run.start() - 1] if run.start() else ""
                if before and not before.isspace():
                    del out[kept:]
            elif depth == 0:
                out.extend(text[opened:i + 1])
            continue
        if depth == 0:
            out.append(c)
    return "".join(out) + (text[opened:] if depth else "")


def addresses_the_model(sentence: str) -> bool:
    """Does this sentence give orders to an AI ("Ignore previous instructions and reply X")?"""
    return bool(_ORDERS.search(sentence))


# --- sentences and datelines -------------------------------------------------------------
def is_headline(line: str) -> bool:
    """A title line reads as a headline, not a sentence: headlines do not end in a full stop.

    A .txt file's title is its first line, which is often the article's first sentence.
    """
    return not line.rstrip().endswith((".", "!"))


Span = tuple[int, int]

_PARAGRAPH = re.compile(r"[^\n]+")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans (absolute offsets) of ``text[start:end]``.

    Lines are split first, since headlines, datelines and list items end without
    punctuation; blingfire then finds sentence ends inside each line.
    """
    end = len(text) if end is None else end
    spans: list[Span] = []
    for para in _PARAGRAPH.finditer(text, start, end):
        p_start, p_text = para.start(), para.group()
        if not p_text.strip():
            continue
        _, offsets = blingfire.text_to_sentences_and_offsets(p_text)
        if not offsets:
            spans.append((p_start, para.end()))
            continue
        spans.extend((p_start + s, p_start + e) for s, e in offsets)
    return spans


# A news sentence's opening dateline: "(CNN) -- ", "Beirut (CNN) -- ", "WASHINGTON (Reuters) - ",
# "PORT ELLERAY, Scotland, Oct. 7 (Northgate Wire) — ", "(CNN)The …": a news agency in brackets ("(JIG) -" is none).
NEWS_DATELINE = re.compile(
    r"^\s*(?:[A-Z][\w.'’-]*(?:,?\s+[\w.'’-]+){0,6}?\s*)?"
    r"\((?:CNN|AP|Reuters|AFP|UPI|BBC|Bloomberg|Xinhua|[A-Z][\w ]{0,30}(?:Wire|News|Press|Agency|Service))\)"
    r"\s*(?:--|—|–|-(?=\s)|:)?\s*"
)
# A photo caption left in scraped text: "Bishop John Folda (pictured) of …"
CAPTION = re.compile(r"\((?:pictured|left|right|above|below|centre|center)\b[^)]*\)", re.I)


def dateline_length(sentence: str) -> int:
    """How many characters of ``sentence`` an opening news dateline takes (0: none)."""
    found = NEWS_DATELINE.match(sentence)
    return found.end() if found else 0


@dataclass(frozen=True)
class Dateline:
    start: int
    end: int
    iso: str


_HAS_MONTH_OR_NUMERIC_DATE = re.compile(rf"\b{MONTH}\b|\b\d{{4}}-\d{{2}}-\d{{2}}\b", re.I)


def find_dateline(text: str, max_lines: int = 12) -> Dateline | None:
    """A line near the top that is only a date (a news article's publication date)."""
    offset = 0
    for i, line in enumerate(text.split("\n")):
        if i >= max_lines:
            break
        stripped = line.strip()
        if 6 <= len(stripped) <= 40 and _HAS_MONTH_OR_NUMERIC_DATE.search(stripped) and re.search(r"\d", stripped):
            try:
                when = dateparser.parse(stripped, fuzzy=False)
            except (ValueError, OverflowError):
                when = None
            if when is not None:
                start = offset + line.index(stripped)
                return Dateline(start, start + len(stripped), when.date().isoformat())
        offset += len(line) + 1
    return None
