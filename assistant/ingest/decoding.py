"""Bytes → text: by BOM, then strict UTF-8, then the encoding declared (a fetched page's HTTP charset, else an HTML
page's own <meta charset>), then windows-1252 when it reads as Western text, then charset-normalizer's best guess.
A file that decodes to nothing readable is rejected, never mangled."""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from .. import errors

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)

# Non-letters that Western text written in windows-1252 uses; the rest of its upper half (¤ ¦ ¨ ¬ ¯ ¸ ¹ ˆ ˜ ...)
# is what other code pages' letters become in it: Polish ą → ¹, ż → ¿ inside a word, Cyrillic → À-ÿ.
_WESTERN_SYMBOLS = set("€‚„…†‡‰‹›‘’“”•–—™\u00a0\u00ad¡¢£¥§©ª«®°±²³´µ·º»¼½¾¿×÷")
# ... and of those, the ones that may stand inside a word ("don’t", "Paris–Berlin", Catalan "l·l").
_IN_WORD = set("’‘´–—·…\u00a0\u00ad")
# A UTF-8 lead byte then a continuation byte: UTF-8 with a stray byte, whose cp1252 reading is "Ã©".
_UTF8_PAIR = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
# Below this share of non-ASCII letters among the letters: Western prose (French ~4 %, Icelandic ~12 %),
# not Cyrillic or Greek read as Latin-1 letters (nearly all).
MAX_FOREIGN_LETTERS = 0.30
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ASCII_LETTER = re.compile(r"[A-Za-z]")


# What WHATWG's Encoding standard reads these labels as (browsers do): text labelled Latin-1 is windows-1252.
_AS_BROWSERS_READ = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "us-ascii": "cp1252",
                     "ascii": "cp1252", "iso8859-1": "cp1252", "l1": "cp1252"}


# A page's own declaration, <meta charset="…"> or <meta http-equiv="Content-Type" content="…; charset=…">, which
# browsers look for in its first 1,024 bytes when the server said none (WHATWG's prescan); a charset named in any
# other meta's content (a description) declares nothing.
_META = re.compile(rb"<meta\s([^>]*)>", re.IGNORECASE)
_ATTRIBUTE = re.compile(rb"""([a-z][a-z0-9_:-]*)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""", re.IGNORECASE)
_CHARSET_IN_CONTENT = re.compile(rb"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def html_declared_charset(data: bytes) -> str | None:
    """The charset an HTML page declares in its first 1,024 bytes, or None."""
    for meta in _META.finditer(data[:1024]):
        attributes = {name.lower(): value.strip(b"\"'").strip() for name, value in _ATTRIBUTE.findall(meta.group(1))}
        if attributes.get(b"charset"):
            return attributes[b"charset"].decode("ascii", "replace")
        if attributes.get(b"http-equiv", b"").lower() == b"content-type":
            found = _CHARSET_IN_CONTENT.search(attributes.get(b"content", b""))
            if found:
                return found.group(1).decode("ascii")
    return None


def _declared_codec(declared: str | None) -> str | None:
    """Python's codec for a charset label a server sent, as browsers read it; None for none, an unknown one, or
    one browsers refuse (UTF-7: it hides markup)."""
    if not declared:
        return None
    label = declared.strip().strip("'\"").lower()
    try:
        name = codecs.lookup(_AS_BROWSERS_READ.get(label, label)).name
    except LookupError:
        return None
    return None if name == "utf-7" else name


def decode_bytes(path: Path, data: bytes, declared: str | None = None) -> str:
    """``declared``: the encoding a server said (HTTP's charset): a wide one (UTF-16, UTF-32) is read when the
    bytes have its NULs; any other when the bytes are not valid UTF-8, before the guesses."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise errors.UndecodableFile(
                    path, f"starts with a {encoding} byte-order mark but is not valid {encoding}"
                ) from None
    codec = _declared_codec(declared)
    wide = codec is not None and codec.startswith(("utf-16", "utf-32"))
    if wide and b"\x00" in data[:8192]:  # a wide encoding said, and its NULs there: ASCII said to be UTF-16 is not
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:8192]:
        raise errors.UndecodableFile(path, "looks like a binary file (NUL bytes), not text")
    try:  # text valid as UTF-8 is UTF-8, whatever a server says (a wrong label is more common than such text)
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if codec is not None and not wide:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:  # a wrong label: the guesses below
            pass
    # charset-normalizer guesses short Western text poorly ("München" → "MŁnchen"); browsers read
    # non-UTF-8 Western text as windows-1252 (WHATWG's "latin-1"), and so do we when it reads well.
    western = _as_western(data)
    if western is not None:
        return western
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is not None:
        # Short Western text fits many code pages equally well; prefer windows-1252 among the least chaotic.
        tied = [m for m in matches if m.percent_chaos <= best.percent_chaos]
        best = next((m for m in tied if m.encoding in ("cp1252", "latin_1", "iso8859_15")), best)
    if best is None:
        raise errors.UndecodableFile(path, "could not detect a text encoding; is it a binary file?")
    text = str(best)
    if _control_ratio(text) > 0.01:
        raise errors.UndecodableFile(path, f"decodes as {best.encoding} only to control characters; binary file?")
    return text


def _as_western(data: bytes) -> str | None:
    """The bytes as windows-1252 if that reads as Western text, else None (charset-normalizer decides)."""
    if _UTF8_PAIR.search(data):
        return None
    try:
        text = data.decode("cp1252")  # fails on its undefined bytes 0x81 0x8D 0x8F 0x90 0x9D
    except UnicodeDecodeError:
        return None
    if _control_ratio(text) > 0.01:
        return None
    foreign = 0
    for m in _NON_ASCII.finditer(text):
        ch, i = m.group(), m.start()
        if unicodedata.category(ch) in ("Lu", "Ll"):
            foreign += 1
        elif ch not in _WESTERN_SYMBOLS:
            return None  # a symbol no Western text uses
        elif ch not in _IN_WORD and 0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha():
            return None  # "bud¿et": another code page's letter
    letters = len(_ASCII_LETTER.findall(text)) + foreign
    if letters and foreign / letters >= MAX_FOREIGN_LETTERS:
        return None
    return text


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    bad = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    return bad / len(text)
