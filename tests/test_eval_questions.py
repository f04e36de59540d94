"""Reading eval questions: the shared JSONL format, CSV, and errors that name the file and line."""

from __future__ import annotations

import json

import pytest

from assistant import errors
from assistant.eval.questions import load_questions
from assistant.eval.records import EvalQuestion


pytestmark = pytest.mark.fast


def test_jsonl_in_the_shared_format(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        json.dumps({"id": "a", "question": " Who? ", "answers": ["Kerry", ""], "article": "x.md", "answerable": True})
        + "\n\n"  # blank lines are skipped
        + json.dumps({"id": "b", "question": "Capital of France?", "answers": [], "article": None, "answerable": False})
        + "\n"
        + json.dumps({"question": "When?", "answers": ["1900"]})  # id and answerable have defaults
        + "\n"
    )
    assert load_questions(path) == [
        EvalQuestion("a", "Who?", ("Kerry",), "x.md", True),
        EvalQuestion("b", "Capital of France?", (), None, False),
        EvalQuestion("line-4", "When?", ("1900",), None, True),
    ]


def test_csv_with_empty_answer_meaning_refuse(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('\ufeffquestion,answer\nWho flies?,Kerry\n"Capital of France, please?",\n')
    assert load_questions(path) == [
        EvalQuestion("line-2", "Who flies?", ("Kerry",), None, True),
        EvalQuestion("line-3", "Capital of France, please?", (), None, False),
    ]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("q.jsonl", '{"question": "ok", "answers": ["a"]}\n{"question": "broken"\n', "q.jsonl, line 2: not valid JSON"),
        ("q.jsonl", '["a list"]\n', "q.jsonl, line 1: expected a JSON object"),
        ("q.jsonl", '{"answers": ["a"]}\n', 'q.jsonl, line 1: "question" must be a non-empty string'),
        ("q.jsonl", '{"question": "q", "answers": "a"}\n', 'q.jsonl, line 1: "answers" must be a list of strings'),
        ("q.jsonl", '{"question": "q", "answers": [], "answerable": true}\n', "q.jsonl, line 1: an answerable question"),
        ("q.jsonl", '{"id": 1, "question": "q"}\n{"id": 1, "question": "r"}\n', "q.jsonl, line 2: duplicate id '1'"),
        ("q.jsonl", "\n", "q.jsonl: holds no questions"),
        ("q.csv", "question,gold\nWho?,Kerry\n", "q.csv, line 1: missing column(s) answer"),
        ("q.csv", "question,answer\nWho?,Kerry\n,Moscow\n", "q.csv, line 3: empty question"),
        ("q.txt", "Who?\n", "q.txt: unsupported questions file type .txt"),
    ],
)
def test_bad_files_name_the_file_and_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(errors.InvalidRequest) as raised:
        load_questions(path)
    assert str(raised.value).startswith(f"{tmp_path}/{message}")


def test_missing_file(tmp_path):
    with pytest.raises(errors.InvalidRequest, match="nope.jsonl: no such questions file"):
        load_questions(tmp_path / "nope.jsonl")
