"""Understanding the question, the stage before retrieval: what kind of request it is (``kinds``), the
standalone question a follow-up stands for (``condense``), and what the question asks for (``analysis``: its
terms, the kind of thing asked, its patterns), with the spaCy pipeline both parse with (``parse``).

It needs no passages and knows no answer backend: the core runs it first, and the answer stage reads its
analysis.
"""
