"""Clean extracted text: drop page furniture and repeated paragraphs.

News pages copied as text carry lines that are not the article ("3 min read",
"[Click to enlarge]", photo captions ending in a credit like "[Getty]") and
sometimes the same paragraph twice. Both would pollute retrieval and citations.
"""

from __future__ import annotations

import re
import unicodedata

from ..text import strip_controls, strip_invisible

# Whole lines that are page chrome, not article text.
_FURNITURE = [
    re.compile(r"^\d+\s*(?:min|mins|minute|minutes)\s+read$", re.I),
    re.compile(r"^\[?\s*click (?:here )?to (?:enlarge|expand|view)[^\]]*\]?$", re.I),
    re.compile(r"^(?:advertisement|sponsored|share this article|share|tweet|print|email)$", re.I),
    re.compile(r"^(?:read more|related|recommended|most read)\s*:?$", re.I),
    # A photo caption: a line that ends in a bracketed picture credit.
    re.compile(r"^.{0,300}\[(?:getty|getty images|afp|ap|reuters|epa|anadolu|file photo|photo|image)[^\]]{0,40}\]$", re.I),
]

_WS = re.compile(r"[ \t\u00a0]+")


def clean_text(text: str) -> str:
    """Normalise whitespace and Unicode, drop furniture lines and repeated paragraphs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Controls and invisible characters go before NFC, so "e\u200b\u0301" composes to "é".
    text = unicodedata.normalize("NFC", strip_invisible(strip_controls(text)))
    kept: list[str] = []
    seen: set[str] = set()
    for raw_line in text.split("\n"):
        line = _WS.sub(" ", raw_line).strip()
        if not line:
            if kept and kept[-1] != "":
                kept.append("")
            continue
        if any(p.match(line) for p in _FURNITURE):
            continue
        key = _dedupe_key(line)
        if key in seen and len(key) > 0:
            continue  # the same paragraph (or title) again, perhaps differing only in punctuation
        seen.add(key)
        kept.append(line)
    return "\n".join(kept).strip()


def _dedupe_key(line: str) -> str:
    return re.sub(r"[\W_]+", " ", line.casefold()).strip()
