"""`assistant list` and `assistant remove` as a user runs them: ids printed whole, removal by a unique prefix."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import SEEDS
from servers import CLI

pytestmark = pytest.mark.slow


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *args], env=env, capture_output=True, text=True, timeout=300)


def test_list_prints_whole_ids_and_remove_takes_a_unique_prefix(tmp_path):
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "index"), "COLUMNS": "80"}  # a narrow terminal
    (tmp_path / "harbour-bridge.txt").write_text("Harbour news\n\nThe harbour bridge reopened on Monday after two years.\n")
    (tmp_path / "harbour-ferry.txt").write_text("Harbour news again\n\nThe ferry returns on Friday after a winter pause.\n")
    assert run(env, "ingest", str(SEEDS), str(tmp_path / "harbour-bridge.txt"), str(tmp_path / "harbour-ferry.txt")).returncode == 0
    ids = sorted(a["id"] for a in json.loads(run(env, "list", "--json").stdout))  # seed, harbour-bridge, harbour-ferry
    table = run(env, "list").stdout
    assert all(article_id in table for article_id in ids)  # whole, even at 80 columns
    titled = [a["id"] for a in json.loads(run(env, "list", "--json").stdout)]  # in title order, as the API lists
    assert [a["id"] for a in json.loads(run(env, "list", "--json", "--limit", "1", "--offset", "1").stdout)] == titled[1:2]
    page = run(env, "list", "--limit", "2")
    assert titled[0] in page.stdout and titled[2] not in page.stdout and "1–2 of 3 article(s)" in page.stderr

    shared = os.path.commonprefix([ids[1], ids[2]])
    assert shared == "harbour-"
    ambiguous = run(env, "remove", shared)
    assert ambiguous.returncode == 1 and f"{shared!r} is the start of 2 ids" in ambiguous.stderr
    scoped = run(env, "ask", "--article", ids[1][: len(shared) + 3], "When did the harbour bridge reopen?")
    assert scoped.returncode == 0 and "Monday" in scoped.stdout and "harbour-bridge.txt" in scoped.stdout  # a prefix
    none = run(env, "ask", "--k", "0", "When did the harbour bridge reopen?")
    assert none.returncode == 2 and "--k" in none.stderr and "Traceback" not in none.stderr  # 1 or more
    vague = run(env, "ask", "--article", shared, "When did the harbour bridge reopen?")
    assert vague.returncode == 1 and f"{shared!r} is the start of 2 ids" in vague.stderr
    unknown = run(env, "remove", "zzz-no-such")
    assert unknown.returncode == 1 and "no article with id 'zzz-no-such'" in unknown.stderr
    partly = run(env, "remove", ids[1], "zzz-no-such")  # one id names nothing: nothing is removed
    assert partly.returncode == 1 and "no article with id 'zzz-no-such'" in partly.stderr
    assert ids[1] in run(env, "list", "--json").stdout
    huge = run(env, "ask", "--k", "99999999999999999999", "When did the harbour bridge reopen?")
    assert huge.returncode == 1 and huge.stderr.startswith("error: k: must be a whole number of passages from 1 to 50")
    empty = run(env, "ingest", "")
    assert empty.returncode == 1 and empty.stderr.startswith("error: paths: an empty path")
    ftp = run(env, "ingest", "ftp://example.org/a.txt")  # a link of another kind is not "no such file"
    assert ftp.returncode == 1 and ftp.stderr.startswith("error: paths: 'ftp://example.org/a.txt': only http(s)")
    chat = subprocess.run([str(CLI), "chat", "--backend", "nosuch"], env=env, input="When?\n", capture_output=True,
                          text=True, timeout=300)
    assert chat.returncode == 1 and "unknown answer backend 'nosuch'" in chat.stderr and "Chatting" not in chat.stderr
    one = subprocess.run([str(CLI), "chat", "--article", ids[1]], env=env, input="exit\n", capture_output=True,
                         text=True, timeout=300)
    assert one.returncode == 0 and "Chatting with 1 article." in one.stderr
    removed = run(env, "remove", ids[0][:12])
    assert removed.returncode == 0 and f"removed {ids[0]}" in removed.stderr
    assert ids[0] not in run(env, "list", "--json").stdout


def test_titles_file_names_and_reasons_print_as_text_never_as_terminal_markup(tmp_path):
    """Rich reads "[link=…]" and "[/b]" as markup: an article's title must neither become a live link nor crash."""
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "index"), "COLUMNS": "400"}
    title = "Weekly update [link=https://evil.example/phish]Sign in here[/link] [bold red]URGENT[/bold red] [/b]"
    (tmp_path / "update.txt").write_text(f"{title}\n\nThe harbour bridge reopened on Monday after two years.\n")
    (tmp_path / "[b][red]broken.pdf").write_bytes(b"not a pdf at all")
    ingested = run(env, "ingest", str(tmp_path / "update.txt"), str(tmp_path / "[b][red]broken.pdf"))
    assert ingested.returncode == 1 and "[b][red]broken.pdf" in ingested.stderr and "Traceback" not in ingested.stderr
    listed = run(env, "list")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr
    assert title in listed.stdout and "\x1b]8;" not in listed.stdout  # the words as written; no OSC 8 hyperlink
    asked = run(env, "ask", "When did the harbour bridge reopen?")
    assert asked.returncode == 0 and "Monday" in asked.stdout and title in asked.stdout  # the citation's title line


OBEYED = ("\x1b", "\x9b", "\x85", "\r", "\u202e")  # escape, CSI, NEL, carriage return, right-to-left override


def test_escapes_in_titles_and_file_names_are_shown_never_obeyed(tmp_path):
    """A title (a file's, a page's, a feed's) or a file name may hold what a terminal acts on:
    clear the screen, set the window's title, a hidden link, a line overwritten. Titles are cleaned when ingested;
    whatever the command line prints from data shows such characters as escapes."""
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "index"), "COLUMNS": "400"}
    title = "Harbour \x1b[2J\x1b]0;PWNED\x07news\x9b31m \u202eswen\r\nINFO forged line"
    (tmp_path / "fm.md").write_text(f'---\ntitle: "{title.encode("unicode_escape").decode()}"\n---\n\n'
                                     "The harbour bridge reopened on Monday after two years.\n")
    named = tmp_path / "ferry\x1b[32mGREEN\x1b]8;;http:evil\x1b\\.txt"
    named.write_text("Ferry news\n\nThe ferry returns on Friday after a winter pause.\n")
    assert run(env, "ingest", str(tmp_path / "fm.md"), str(named)).returncode == 0
    articles = json.loads(run(env, "list", "--json").stdout)
    assert sorted(a["title"] for a in articles) == ["Ferry news", "Harbour news swen INFO forged line"]
    listed, asked = run(env, "list"), run(env, "ask", "When does the ferry return?")
    for shown in (listed.stdout, asked.stdout):
        assert not any(c in shown for c in OBEYED), shown
        assert "ferry\\x1b[32mGREEN\\x1b]8;;http:evil\\x1b\\.txt" in shown  # the source, its escapes visible
    raw = run(env, "list", "--json").stdout
    assert not any(c in raw for c in OBEYED) and "\\u001b[32mGREEN" in raw  # JSON's own escapes
    assert {a["source"] for a in json.loads(raw)} == {str(tmp_path / "fm.md"), str(named)}  # and it reads back whole


def test_a_terminal_that_cannot_show_a_letter_gets_a_question_mark_not_a_traceback(tmp_path):
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "index"), "LC_ALL": "C", "PYTHONIOENCODING": "ascii"}
    (tmp_path / "opera.txt").write_text("Zürich opera\n\nThe Zürich opera tour was paid by the Dvořák society.\n")
    assert run(env, "ingest", str(tmp_path / "opera.txt")).returncode == 0
    for args in (("ask", "Who paid the opera tour?"), ("list",), ("python-m", "ask", "Who paid the opera tour?")):
        if args[0] == "python-m":  # `python -m assistant`, the same command line
            shown = subprocess.run([str(CLI.parent / "python"), "-m", "assistant", *args[1:]], env=env,
                                   capture_output=True, text=True, timeout=300)
        else:
            shown = run(env, *args)
        assert shown.returncode == 0 and "Traceback" not in shown.stderr, shown.stderr
        assert "Z?rich opera" in shown.stdout
    listed = run(env, "list", "--json")  # data for a program: escaped, never "?"
    assert listed.returncode == 0 and "\\u00fc" in listed.stdout
    assert json.loads(listed.stdout)[0]["title"] == "Zürich opera"


def test_piped_tables_keep_whole_cells_and_an_empty_index_is_said_to_be_empty(tmp_path):
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "index")}
    title = "The harbour bridge reopened on Monday after two years of repairs to its northern span"
    article = tmp_path / "a-folder-with-a-long-name" / "harbour-bridge-reopens-after-two-years.txt"
    article.parent.mkdir()
    article.write_text(f"{title}\n\nThe harbour bridge reopened on Monday after two years.\n")
    assert run(env, "ingest", str(article)).returncode == 0
    rows = [line for line in run(env, "list").stdout.splitlines() if title in line]
    assert len(rows) == 1 and str(article) in rows[0]  # one line each, nothing cut to fit 80 columns
    empty = run({**env, "ASSISTANT_INDEX_DIR": str(tmp_path / "elsewhere")}, "ask", "When did the bridge reopen?")
    assert empty.returncode == 0 and "The articles don't say" in empty.stdout
    assert f"the index at {tmp_path / 'elsewhere'} has no articles" in empty.stderr


def test_help_and_argument_errors_come_before_the_index_and_models_are_imported():
    """`assistant --help`, `assistant eval --help` and a bad option answer at once: importing the index, the
    models and LangChain (about 3 s) is left to the commands that use them."""
    script = ("import sys\nfrom typer.testing import CliRunner\nfrom assistant.cli import app\n"
              "for args in (['--help'], ['eval', '--help'], ['ask', '--nosuch', 'q']):\n"
              "    CliRunner().invoke(app, args)\n"
              "print(sorted(m for m in ('assistant.core', 'assistant.eval.command', 'chromadb', 'langchain_core', "
              "'torch', 'sentence_transformers') if m in sys.modules))")
    imported = subprocess.run([str(CLI.parent / "python"), "-c", script], capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "[]"
    helped = subprocess.run([str(CLI), "eval", "--help"], capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "--corpus" in helped.stdout and "ASSISTANT_EVAL_CACHE_DIR" in helped.stdout


def test_ingest_into_a_log_file_says_how_far_it_is(tmp_path):
    """Without a terminal no bar is drawn: a line at each tenth, so a cron job's log shows a long ingest going on."""
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "index")}
    folder = tmp_path / "notes"
    folder.mkdir()
    for n in range(20):
        (folder / f"note-{n:02d}.txt").write_text(f"Note {n}\n\nThe harbour crane number {n} was serviced on Monday.\n")
    done = run(env, "ingest", str(folder))
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("ingest: ")]
    assert said[0] == "ingest: 2 of 20 files (10%)" and said[-1] == "ingest: 18 of 20 files (90%)" and len(said) == 9
    assert "added 20" in done.stderr
