"""Every word list and shared pattern of the assistant, in one place (English).

The question's key terms and the citation check (stop words), the condense
step and the ingest stage's dateline finder read these; none keeps a list of
its own.
"""

from __future__ import annotations

# Function words carry no topic.
STOPWORDS = frozenset(
    """a an the of in on at to for from by with about as into onto over under after before during since until
    and or but nor so yet if then than that this these those there here which who whom whose what when where why
    how is are was were be been being am do does did done doing have has had having will would shall should can
    could may might must it its it's he him his she her hers they them their theirs we us our you your i me my
    not no yes also very much many more most some any each every other such own same just only one ones
    according called named known""".split()
)

# A month name or its abbreviation ("Sept", "October"): datelines and follow-ups' times.
MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"

# Words that open a question and are capitalised without being names (condense.names_in).
QUESTION_OPENERS = frozenset(
    "Who What When Where Why How Which Whom Whose Did Does Do Is Are Was Were Will Would Can Could Has Have Had "
    "Should The A An In On".split()
)
POSSESSIVE_PRONOUNS = frozenset({"his", "its", "their", "hers"})

# Condensing follow-ups: pronouns that stand for a person, and "her", which is an object or a possessive by the
# word after it (a preposition after it makes it an object: "What did they say about her in the report?").
PERSONAL_PRONOUNS = frozenset({"he", "him", "his", "she", "her", "hers"})
OBJECT_OR_POSSESSIVE = frozenset({"her"})
PREPOSITIONS = ("on", "in", "at", "for", "to", "about")

