"""Every word list and shared pattern of the assistant, in one place (English).

The answer stage (question analysis, sentence scoring, citation checks), the
condense step and the ingest stage's dateline finder read these; none keeps a
list of its own.
"""

from __future__ import annotations

# Function words carry no topic; question words are handled by answer_kind.
STOPWORDS = frozenset(
    """a an the of in on at to for from by with about as into onto over under after before during since until
    and or but nor so yet if then than that this these those there here which who whom whose what when where why
    how is are was were be been being am do does did done doing have has had having will would shall should can
    could may might must it its it's he him his she her hers they them their theirs we us our you your i me my
    not no yes also very much many more most some any each every other such own same just only one ones
    according called named known""".split()
)

REPORTING_VERBS = frozenset(
    "say says said saying tell tells told state states stated announce announced claim claimed comment commented "
    "add added argue argued respond responded reply replied declare declared".split()
)

# A month name or its abbreviation ("Sept", "October"): datelines and date answers.
MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand thousands "
    "million millions billion billions trillion dozen dozens half none"
).split()

ORDINAL_WORDS = (
    "third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
    "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
).split()

AUXILIARIES = frozenset("is are was were do does did has have had can could will would should may might".split())

# Words that open a question and are capitalised without being names (condense.names_in).
QUESTION_OPENERS = frozenset(
    "Who What When Where Why How Which Whom Whose Did Does Do Is Are Was Were Will Would Can Could Has Have Had "
    "Should The A An In On".split()
)
POSSESSIVE_PRONOUNS = frozenset({"his", "its", "their", "hers"})

# Small words a highlighted answering phrase may run through without ending ("Joint Implementation Group of ...").
PHRASE_GLUE = frozenset({"the", "a", "an", "of", "and", "to", "in"})

# Condensing follow-ups: pronouns that stand for a person, and "her", which is an object or a possessive by the
# word after it (a preposition after it makes it an object: "What did they say about her in the report?").
PERSONAL_PRONOUNS = frozenset({"he", "him", "his", "she", "her", "hers"})
OBJECT_OR_POSSESSIVE = frozenset({"her"})
PREPOSITIONS = ("on", "in", "at", "for", "to", "about")

# The words that make a question a question ("wh-words"): the phrase ranker aligns the answer with their place.
WH_WORDS = frozenset(("who", "whom", "whose", "what", "which", "when", "where", "why", "how"))
