"""Understanding the question, the stage before retrieval: what kind of request it is (``kinds``), the
standalone question a follow-up stands for (``condense``, with the spaCy pipeline of ``parse``), and the
question's key terms (``analysis``).

It needs no passages and knows no answer backend: the core runs it first, and the answer stage reads its
analysis.
"""
