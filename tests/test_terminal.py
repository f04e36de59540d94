"""What the command line and the server's log write from data: shown, never obeyed by a terminal or a log reader."""

from __future__ import annotations

import io
import json
import logging

import pytest
from rich.table import Table

from assistant.terminal import DataConsole, printable, printable_json
from assistant.web.app import log_config

pytestmark = pytest.mark.fast

HOSTILE = "Harbour\x1b[2J \x1b]8;;http://evil.example\x1b\\news\x9b31m \u202eswen\r\x85forged\u2028line"


def test_what_a_terminal_would_obey_is_written_as_its_escape_and_the_rest_as_it_is():
    assert printable(HOSTILE) == ("Harbour\\x1b[2J \\x1b]8;;http://evil.example\\x1b\\news\\x9b31m \\u202eswen\\r\\x85"
                                  "forged\\u2028line")
    assert printable("Zürich, 東京, 🚢\tand\na new line") == "Zürich, 東京, 🚢\tand\na new line"


def test_json_for_a_terminal_reads_back_as_the_same_value():
    value = {"title": HOSTILE, "del": "a\x7fb", "plain": "Zürich"}
    shown = printable_json(json.dumps(value, ensure_ascii=False))
    assert not any(c in shown for c in "\x1b\x9b\x85\r\u202e\u2028\x7f") and "Zürich" in shown
    assert json.loads(shown) == value


def test_a_console_shows_data_and_still_styles_its_own_text():
    stream = io.StringIO()
    console = DataConsole(file=stream, force_terminal=True, width=300, color_system="standard")
    table = Table("title")
    table.add_row(HOSTILE)
    console.print(table)
    console.print(f"[red]error:[/red] {HOSTILE}", markup=True, highlight=False)
    written = stream.getvalue()
    assert "\\x1b[2J" in written and "\\u202e" in written and "\x1b[31m" in written  # the data shown; red is red
    assert not any(c in written for c in "\x9b\x85\r\u202e\u2028") and "\x1b]8;" not in written and "\x1b[2J" not in written


def test_the_server_log_shows_a_hostile_header_on_one_line():
    """An Origin header may carry obs-text bytes (decoded as Latin-1: NEL, CSI), a feed's link or error anything."""
    config = log_config("info")
    assert config["handlers"]["access"]["filters"][-1] == "printable"
    assert config["handlers"]["assistant"]["filters"][-1] == "printable"
    shown = config["filters"]["printable"]["()"]()
    record = logging.LogRecord("assistant.web.guard", logging.WARNING, __file__, 1,
                               "key %s refused from origin %s (client %s)", ("ab12cd34", HOSTILE, "127.0.0.1"), None)
    assert shown.filter(record)
    line = logging.Formatter("%(message)s").format(record)
    assert line.splitlines() == [line] and "\x1b" not in line and "origin Harbour\\x1b[2J" in line
