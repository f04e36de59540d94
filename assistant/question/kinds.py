"""What kind of request a question is: a factoid question, an overview or catalogue request, or small talk.

    factoid     "What does JIG stand for?"                 → the sentence that answers (extractive.py)
    overview    "Summarize the article." "TL;DR?"          → the article's key sentences (overview.py)
                "What does the article say about X?"       → the sentences about X
    catalogue   "What articles do you have?"               → one cited line per article (overview.py)
                "Which articles are about sport?"          → those about it
    small_talk  "Hi!" "Thanks." "What can you do?"         → a fixed reply, no passage quoted (chain.py)

The patterns are anchored at the start and need an overview or catalogue word, so a factoid question
never becomes one: tests/test_overviews.py runs every question of the shared sets through this. Small talk
must be the whole message ("Hi! Who chairs the IPCC?" is a question), or the nearest sentence to "hi" would be
quoted as its answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from ..text import split_sentences

Kind = Literal["factoid", "overview", "catalogue", "small_talk"]

_DOC = r"(?:article|story|piece|report|text|page|post|document|item)"
_THIS = r"(?:this|the|that|it'?s|its|your)"

_OVERVIEW = re.compile(
    rf"""^\W*(?:please\s+|can\s+you\s+|could\s+you\s+)?(?:
        (?:summari[sz]e|sum\s+up|recap|outline|condense)\b
      | (?:give\s+(?:me\s+|us\s+)?|write\s+|provide\s+)?(?:a\s+|an\s+)?(?:short\s+|brief\s+|quick\s+|one[-\s]line\s+)?
        (?:summary|overview|rundown|synopsis|gist|recap)\b
      | tl\s*;?\s*dr\b
      | what(?:'s|\s+is|\s+was)\s+{_THIS}\s+{_DOC}\s+(?:about|saying|on)\b
      | what\s+(?:is|are)\s+{_THIS}\s+{_DOC}'?s?\s+(?:main\s+|key\s+)?(?:points?|message|gist|takeaways?)\b
      | what\s+are\s+the\s+(?:key|main|most\s+important|important)\s+(?:points|takeaways|facts|ideas)\b
      | (?:the\s+)?(?:key|main)\s+(?:points|takeaways)\b
      | what\s+(?:does|did)\s+{_THIS}\s+{_DOC}\s+(?:say|tell\s+us|report)\b
      | what\s+happen(?:s|ed)\s+in\s+{_THIS}\s+{_DOC}\b
    )""",
    re.I | re.X,
)
_CATALOGUE = re.compile(
    r"""^\W*(?:
        (?:what|which)\s+(?:articles|stories|documents|pieces|reports)\b
      | how\s+many\s+(?:articles|stories|documents)\b
      | (?:list|show)\s+(?:me\s+)?(?:all\s+)?(?:the\s+|your\s+)?(?:articles|stories|documents)\b
      | what\s+(?:are|is)\s+(?:these|the|your|all\s+the|all\s+these)\s+(?:articles|stories|documents)\s+about\b
      | what\s+(?:do\s+you\s+have|have\s+you\s+got|can\s+i\s+ask\s+about)\b
      | what\s+do\s+(?:the|these|your|all\s+the|all\s+these|all)\s+(?:articles|stories|documents|reports)\s+
        (?:say|tell\s+us|report)\s+(?:about|on)\b
    )""",
    re.I | re.X,
)
# "... say about X", "... summary of what it says about X": the sentences about X
_FOCUS = re.compile(r"\b(?:say|says|said|tell\s+us|report|reports)\s+(?:about|on)\s+(.+?)\W*$", re.I)
# "Summarize the article about Kerry's visit", "a summary of the story on the strike": names the article
_NAMED = re.compile(rf"\b{_DOC}\s+(?:about|on|called|titled|named|describing)\s+(.+?)\W*$", re.I)
# "Which articles are about sport?", "What articles mention Putin?"
_CATALOGUE_TOPIC = re.compile(r"\b(?:about|on|mention|mentions|mentioning|cover|covers|covering|discuss|discussing)\s+(.+?)\W*$", re.I)


def _whole_message(words: str) -> re.Pattern:
    """A pattern for a message that is only these words (and punctuation, emoji, "there", "bot")."""
    return re.compile(rf"^\W*(?:{words})(?:\W+(?:there|again|all|everyone|bot|assistant))?\W*$", re.I | re.X)


_OK = r"ok(?:ay)?|great|cool|nice|perfect|awesome|brilliant|got\s+it|i\s+see"
HELP = ("I answer questions about the articles here, quoting the passage each answer comes from, and I say so "
        "when they don't hold the answer. Ask about something an article reports, or “What articles do you "
        "have?”, or “Summarize the article about …”.")
SMALL_TALK = (  # (message, reply); the first that matches the whole message
    (_whole_message(rf"(?:(?:{_OK})\W+)?(?:thanks?(?:\s+you)?(?:\s+(?:so|very)\s+much|\s+a\s+lot)?|thx|ty|cheers"
                    r"|much\s+appreciated)"), "You're welcome. Ask me anything else about the articles."),
    (_whole_message(r"(?:ok(?:ay)?\W+)?(?:bye|goodbye|good\s*bye|see\s+you|see\s+ya|cya)"), "Goodbye!"),
    (_whole_message(_OK), "Ask me anything else about the articles."),
    (_whole_message(r"hi|hello|hey|hiya|howdy|yo|greetings|good\s+(?:morning|afternoon|evening|day)|what'?s\s+up"
                    r"|how\s+are\s+you(?:\s+doing)?(?:\s+today)?|how'?s\s+it\s+going"), "Hello! " + HELP),
    (_whole_message(r"help(?:\s+me)?|i\s+need\s+help|test(?:ing)?|what\s+can\s+(?:you\s+do|i\s+do\s+here)"
                    r"|how\s+do\s+you\s+work|how\s+do\s+i\s+use\s+you"  # not "how does it work?": a follow-up
                    r"|who\s+are\s+you|what\s+are\s+you|what(?:'s|\s+is)\s+your\s+name"
                    r"|who\s+(?:made|built|created|wrote)\s+you"), HELP),
)
# "What are these articles about?": an overview of every article, one line each
_ALL_ABOUT = re.compile(r"^\W*what\s+(?:are|is)\s+(?:these|the|your|all\s+the|all\s+these)\s+\w+\s+about\W*$", re.I)


@dataclass(frozen=True)
class Request:
    kind: Kind = "factoid"
    focus: str | None = None  # overview: the topic whose sentences to pick ("... say about X")
    names: str | None = None  # overview: the words that name the article ("the article about X")
    topic: str | None = None  # catalogue: what the articles must be about
    articles_total: int = 0  # catalogue: how many articles the index holds (the chain fills it in)
    searched: bool = False  # catalogue: too many articles to read each lead, so the topic's were searched for
    ambiguous: str | None = None  # catalogue: the title the request named, which several articles could be
    reply: str | None = None  # small_talk: what to say
    # overview: words that may be an article's title ("Summarize Warsaw", "the Rhine article"); the chain looks
    # them up among the titles (``exact_title``: the whole title, as in "Who was Nikola Tesla?"), and when no title
    # matches, the request is ``untitled`` instead
    title: str | None = None
    exact_title: bool = False
    untitled: Request | None = None


# A request said as one: "Summarize …", "List the articles …", "Give me …", "Can you tell me …"
_ASKED_OF_YOU = re.compile(r"^\W*(?:please\s+|can\s+you\s+|could\s+you\s+)?(?:summari[sz]e|sum\s+up|list|show|give|tell|"
                           r"write|provide|tl\s*;?\s*dr)\b", re.I)
# Past this many words a message is more than its question (context pasted before it, a story around it). The
# reader reads question and sentence within 128 tokens and the embedder 256, each cut at the end, where the
# question mostly is: 0 of 30 questions led in by 1,700 characters were answered. No question of the shared sets
# or the SQuAD validation split is longer than 31 words.
QUESTION_MAX_WORDS = 40


def asking_part(message: str) -> str:
    """What a long message asks: its request for a summary or a list, else its sentences ending in "?" (all of
    them, within ``QUESTION_MAX_WORDS``, else the last), else its last sentence; never a "Thanks a lot." A message
    of at most ``QUESTION_MAX_WORDS`` words is the question as it stands."""
    if len(message.split()) <= QUESTION_MAX_WORDS:
        return message
    said = [message[s:e].strip() for s, e in split_sentences(message)]
    sentences = [s for s in said if s and not any(pattern.match(s) for pattern, _ in SMALL_TALK)]
    if not sentences:  # "Hi! Thanks! Bye!" at length: small talk, as its last sentence is
        return said[-1] if said else message
    # A request for a summary or a list, when asked as one ("The key points were settled in 1990." is context)
    requests = [s for s in sentences
                if (_OVERVIEW.match(s) or _CATALOGUE.match(s)) and (s.endswith(("?", "!")) or _ASKED_OF_YOU.match(s))]
    if requests:
        return requests[0]
    asking = [s for s in sentences if s.endswith("?")]
    together = " ".join(asking)
    if asking and len(together.split()) <= QUESTION_MAX_WORDS:
        return together
    return (asking or sentences)[-1]


# "Summarize Warsaw", "a summary of the Harvard article", "Tell me about Nikola Tesla": what follows may be a title
_OF_TITLE = re.compile(
    r"""^\W*(?:please\s+|can\s+you\s+|could\s+you\s+)?(?:
        (?:summari[sz]e|sum\s+up|recap|outline)
      | tl\s*;?\s*dr\s+(?:of|on|for)
      | (?:give\s+(?:me\s+|us\s+)?|write\s+|provide\s+)?(?:a\s+|an\s+)?(?:short\s+|brief\s+|quick\s+)?
        (?:summary|overview|rundown|synopsis|gist|recap)\s+(?:of|on|for)
      | (?:(?P<tell>tell\s+(?:me|us)\s+(?:more\s+)?about|what\s+do\s+you\s+know\s+about))
    )\s+(?P<title>.+?)\W*$""",
    re.I | re.X,
)
# "What is the Rhine article about?", 'What does the article "Rhine" say about castles?': a title said with "article"
_TITLED_DOC = re.compile(
    rf"""\b{_THIS}\s+(?:(?P<before>["“'‘]?[^\W\d_][\w'’.&-]*(?:\s+[\w'’.&-]+){{0,5}}?["”'’]?)\s+{_DOC}\b
                     | {_DOC}\s+["“](?P<quoted>[^"”]{{1,100}})["”])""",
    re.I | re.X,
)
# "Who was Nikola Tesla?", "What is Warsaw?": asked of an article's whole title, its overview answers
_WHO_WHAT = re.compile(r"^\W*(?:who|what)\s+(?:is|was|are|were)\s+(?P<title>.+?)\W*$", re.I)
_DETERMINER = re.compile(r"^(?:(?:the|this|that|these|those|a|an|its?|your|my|all|each|every)\s+)+", re.I)
_DOC_WORD = re.compile(rf"\s*\b{_DOC}s?$|^{_DOC}s?\b\s*", re.I)


_NO_TITLE = {"it", "them", "everything", "this", "that", "he", "she", "i", "we", "they", "you", "him", "her", "us"}


def _title_said(words: str, *, as_a_name: bool = False) -> str | None:
    """``words`` as a title: without "the" or a trailing "article"; None when nothing else is left ("the article",
    "it", "them"). ``as_a_name``: only words written as a name (capitalised, or quoted) can be a title where the
    request does not say it names one: "Who is the teacher?" asks about a teacher, not the article "Teacher"."""
    quoted = words.strip()[:1] in "\"“'‘"
    words = _DOC_WORD.sub("", _DETERMINER.sub("", words.strip(" \"“”'‘’"))).strip()
    if as_a_name and not quoted and not (words[:1].isupper() or words[:1].isdigit()):
        return None
    return words if words and words.lower() not in _NO_TITLE else None


def _titled(request: Request, text: str) -> Request:
    """``request``, with the words of ``text`` that may name its article by title, if any."""
    if request.kind != "overview" or request.names or request.focus:
        return request
    said = _OF_TITLE.match(text)
    title = _title_said(said.group("title")) if said else None
    return replace(request, title=title, untitled=request) if title else request


def classify(question: str) -> Request:
    text = " ".join(question.split())
    for pattern, reply in SMALL_TALK:
        if pattern.match(text):
            return Request("small_talk", reply=reply)
    if _CATALOGUE.match(text):
        if _ALL_ABOUT.match(text):
            return Request("catalogue")
        topic = _CATALOGUE_TOPIC.search(text)
        return Request("catalogue", topic=topic.group(1) if topic else None)
    if _OVERVIEW.match(text):
        focus = _FOCUS.search(text)
        named = _NAMED.search(text)
        request = Request("overview", focus=focus.group(1) if focus else None, names=named.group(1) if named else None)
        return _titled(request, text)
    # Each of these is a factoid question unless its words are an article's title (the chain looks them up).
    doc = _TITLED_DOC.search(text)
    if doc:  # "What is the Rhine article about?" reads as "What is the article about?" of the article "Rhine"
        plain = text[: doc.start()] + "the article" + text[doc.end():]
        title = _title_said(doc.group("before") or f'"{doc.group("quoted")}"', as_a_name=True)
        if title and _OVERVIEW.match(plain):
            return replace(classify(plain), title=title, untitled=Request("factoid"))
    said = _OF_TITLE.match(text)
    if said and said.group("tell") and _title_said(said.group("title")):
        return Request("overview", title=_title_said(said.group("title")), untitled=Request("factoid"))
    said = _WHO_WHAT.match(text)
    if said and _title_said(said.group("title"), as_a_name=True):
        return Request("overview", title=_title_said(said.group("title"), as_a_name=True), exact_title=True,
                       untitled=Request("factoid"))
    return Request("factoid")
