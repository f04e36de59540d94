"""What the command line writes to a terminal: data (titles, sources, questions, comments, answers) shown, never
obeyed.

A title, a file name or a visitor's comment may hold escape sequences (clear the screen, set the window's title,
a hidden link), C1 controls that terminals read as escapes, a carriage return that overwrites a line, or a bidi
override that reorders what follows. Every string the command line's consoles print passes through
:func:`printable`, which shows those as escapes (``\\x1b``, ``\\u202e``); Rich's own styling is added after, so
it still works.
"""

from __future__ import annotations

import logging
import re

from rich.console import Console
from rich.text import Text

# C0 controls but tab and newline, DEL, C1 (CSI and NEL among them), the bidi controls (Cf) that reorder text,
# and the line and paragraph separators that log readers split on.
_OBEYED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every character a terminal would obey written as its escape (``\\x1b``, ``\\r``)."""
    return _OBEYED.sub(lambda m: ascii(m.group())[1:-1], text)


def printable_json(dumped: str) -> str:
    """JSON text with those characters as ``\\uXXXX`` escapes (``json`` escapes only C0): they can stand only
    inside strings, so it reads back as the same value."""
    return _OBEYED.sub(lambda m: f"\\u{ord(m.group()):04x}", dumped)


class DataConsole(Console):
    """A Rich console whose strings are shown, never obeyed (see the module's docstring): Rich turns every string
    it prints, and every string cell of a table, into text through ``render_str``."""

    def render_str(self, text: str, **options) -> Text:
        return super().render_str(printable(text), **options)


class PrintableLogArgs(logging.Filter):
    """A log line's arguments (a request's path, an Origin header, a feed's link or error) shown, never obeyed: a
    terminal tailing the log would act on an escape, and a log reader would take a CR or NEL for a new line (a
    forged one). The message itself is the code's own."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(printable(a) if isinstance(a, str) else a for a in record.args)
        return True
