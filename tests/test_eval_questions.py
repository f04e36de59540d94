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


def test_a_csv_cell_keeps_its_line_breaks(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes(b'question,answer\r\n"What does JIG\r\nstand for?","Joint\nImplementation Group"\r\nWho?,Kerry\r\n')
    assert [(q.id, q.question, q.answers) for q in load_questions(path)] == [
        ("line-2", "What does JIG\nstand for?", ("Joint\nImplementation Group",)), ("line-5", "Who?", ("Kerry",))]


def test_a_csv_row_may_leave_out_the_optional_cells_after_question_and_answer(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("id,question,answer,article\n1,Who?,Kerry\n2,Where?,Geneva,x.md\n")
    assert [(q.id, q.article) for q in load_questions(path)] == [("1", None), ("2", "x.md")]


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
        ("q.jsonl", '{"id": "1", "question": "q"}\n{"id": 1, "question": "r"}\n',  # a number is its digits
         "q.jsonl, line 2: duplicate id '1', the id of line 1 too"),
        ("q.jsonl", '{"question": "q"}\n{"id": "line-1", "question": "r"}\n',
         "q.jsonl, line 2: duplicate id 'line-1', the id of line 1 too (a line without an id is named line-N)"),
        ("q.jsonl", '{"id": true, "question": "q"}\n', 'q.jsonl, line 1: "id" must be a string or a whole number'),
        # the CSV's column name, in JSONL: read as "no gold", every question would be scored as one to refuse
        ("q.jsonl", '{"question": "q", "answer": "a"}\n', 'q.jsonl, line 1: the gold answers go in "answers"'),
        ("q.jsonl", '{"question": "q", "answers": ["a"], "answerable": false}\n',
         'q.jsonl, line 1: "answerable" is false but "answers" names gold answers'),
        ("q.jsonl", "\n", "q.jsonl: holds no questions"),
        ("q.csv", "question,gold\nWho?,Kerry\n", "q.csv, line 1: missing column(s) answer"),
        ("q.csv", "question,answer\nWho?,Kerry\n,Moscow\n", "q.csv, line 3: empty question"),
        ("q.csv", "id,question,answer\na,Who?,Kerry\na,Where?,Moscow\n", "q.csv, line 3: duplicate id 'a'"),
        # an unquoted comma splits the question; a row short of a cell is not "should refuse"
        ("q.csv", "question,answer\nWho is, Kerry?,Moscow\n", "q.csv, line 2: 3 cell(s), and the header names 2"),
        ("q.csv", 'question,answer\n"Who\nflies?",Kerry\nWhere?\n', "q.csv, line 4: 1 cell(s), and the header names 2"),
        ("q.csv", "question,answer,answer\nWho?,Kerry,Lavrov\n", "q.csv, line 1: the header names 'answer' more than once"),
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
    (tmp_path / "folder.jsonl").mkdir()
    with pytest.raises(errors.InvalidRequest, match="folder.jsonl: is a folder, not a questions file"):
        load_questions(tmp_path / "folder.jsonl")


# --- summary lines (task "summary") -------------------------------------------
SUMMARY_LINE = {"id": "s", "task": "summary", "question": "Summarize this article.", "article": "x.md",
                "scope": {"article": "x.md"}, "answerable": True, "answers": [], "highlights": ["One.", " Two. "]}


def test_summary_lines_beside_factoid_lines(tmp_path):
    path = tmp_path / "q.jsonl"
    unscoped = {**SUMMARY_LINE, "id": "u", "scope": None}
    factoid = {"id": "f", "task": "factoid", "question": "Who?", "answers": ["Kerry"]}
    path.write_text("".join(json.dumps(r) + "\n" for r in (SUMMARY_LINE, unscoped, factoid)))
    summary, no_scope, plain = load_questions(path)
    assert summary == EvalQuestion("s", "Summarize this article.", (), "x.md", True, task="summary",
                                   highlights=("One.", "Two."), scope="x.md")
    assert summary.is_summary and summary.line == 1
    assert no_scope.scope is None and no_scope.highlights == ("One.", "Two.")
    assert plain == EvalQuestion("f", "Who?", ("Kerry",), None, True) and not plain.is_summary and plain.line == 3


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"task": "essay"}, 'line 2: "task" must be "factoid" or "summary" (or absent), got \'essay\''),
        ({"task": None, "answers": []}, 'line 2: an answerable question needs at least one non-empty "answers"'),
        ({"highlights": None}, 'line 2: a summary line needs "highlights": a non-empty list of strings'),
        ({"highlights": []}, 'line 2: a summary line needs "highlights": a non-empty list of strings (got none)'),
        ({"highlights": ["  "]}, 'line 2: a summary line needs "highlights": a non-empty list of strings (got none)'),
        ({"highlights": "One."}, 'line 2: a summary line needs "highlights"'),
        ({"scope": "x.md"}, 'line 2: "scope" must be {"article": FILE NAME} or null'),
        ({"scope": {"file": "x.md"}}, 'line 2: "scope" must be {"article": FILE NAME} or null'),
    ],
)
def test_bad_summary_lines_name_the_line_and_field(tmp_path, changes, message):
    record = {key: value for key, value in {**SUMMARY_LINE, **changes}.items() if value is not None}
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"question": "ok", "answers": ["a"]}) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(errors.InvalidRequest) as raised:
        load_questions(path)
    assert str(raised.value).startswith(f"{path}, {message}")
    assert "\n" not in str(raised.value)


def test_a_line_with_history_is_a_follow_up(tmp_path):
    path = tmp_path / "q.jsonl"
    turn = {"question": "Who will Kerry meet?", "answer": "Kerry will meet Lavrov. [1]"}
    path.write_text(json.dumps({"id": "f", "question": "When?", "answers": ["Friday"], "history": [turn]}) + "\n")
    [question] = load_questions(path)
    assert [t.model_dump() for t in question.history] == [turn]


@pytest.mark.parametrize("history, words", [
    ({"question": "Who?"}, '"history" must be a list'),
    ([{"question": "Who?"}], '"history"[0] must be {"question": "…", "answer": "…"}'),
    ([{"question": "Who?", "answer": 3}], '"history"[0] must be'),
])
def test_a_malformed_history_names_the_line(tmp_path, history, words):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"question": "When?", "answers": ["x"], "history": history}) + "\n")
    with pytest.raises(errors.InvalidRequest) as error:
        load_questions(path)
    assert "line 1" in str(error.value) and words in str(error.value)


def test_a_field_that_looks_misspelt_is_named_once_and_ones_own_fields_are_not(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in (
        {"question": "Who?", "answers": ["Kerry"], "kind": "who", "Answers": ["x"]},
        {"question": "Where?", "answers": ["Moscow"], "kind": "where", "artcile": "moscow.txt"},
        {"question": "When?", "answers": ["1900"], "artcile": "x.txt"},
    )))
    told: list[str] = []
    assert len(load_questions(path, warn=told.append)) == 3
    assert told == [  # "kind", a label of one's own, is no mistake
        f"{path}: the field 'Answers' (line 1) is not read: did you mean 'answers'?",
        f"{path}: the field 'artcile' (line 2 and 1 more) is not read: did you mean 'article'?",
    ]


# --- SQuAD's JSON ---------------------------------------------------------------
def squad(*entries: dict, version: str = "v2.0") -> str:
    return json.dumps({"version": version, "data": list(entries)})


def test_a_squad_file_gives_questions_naming_their_article_and_the_articles(tmp_path):
    from assistant.eval.questions import squad_file

    path = tmp_path / "dev-v2.0.json"
    path.write_text(squad(
        {"title": "Apollo_%28program%29", "paragraphs": [
            {"context": "Boeing built  the rover.\n", "qas": [
                {"id": "q1", "question": " Who built the rover? ", "is_impossible": False,
                 "answers": [{"text": "Boeing", "answer_start": 0}, {"text": "Boeing", "answer_start": 0}]},
                {"id": "q2", "question": "Who painted the rover?", "is_impossible": True, "answers": [],
                 "plausible_answers": [{"text": "Boeing", "answer_start": 0}]}]},
            {"context": "It flew in 1971.", "qas": [{"question": "When did it fly?",  # no id: named by place
                                                     "answers": [{"text": "1971", "answer_start": 11}]}]}]},
        {"title": "apollo_(program)", "paragraphs": [{"context": "Another article, the same name but for case.",
                                                      "qas": []}]},
    ))
    assert load_questions(path) == [
        EvalQuestion("q1", "Who built the rover?", ("Boeing",), "Apollo_(program).txt", True),
        EvalQuestion("q2", "Who painted the rover?", (), "Apollo_(program).txt", False),  # plausible is not gold
        EvalQuestion("data[0].paragraphs[1].qas[0]", "When did it fly?", ("1971",), "Apollo_(program).txt", True),
    ]
    assert squad_file(path).articles == {  # paragraphs in order under the title; a name only case tells apart
        "Apollo_(program).txt": "Apollo (program)\n\nBoeing built the rover.\n\nIt flew in 1971.\n",
        "apollo_(program)-2.txt": "apollo (program)\n\nAnother article, the same name but for case.\n",
    }


def test_a_one_line_jsonl_file_named_json_is_still_jsonl(tmp_path):
    path = tmp_path / "q.json"
    path.write_text(json.dumps({"question": "Who?", "answers": ["Kerry"]}) + "\n")
    assert load_questions(path) == [EvalQuestion("line-1", "Who?", ("Kerry",), None, True)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "data: must be a non-empty list of articles"),
        ([{"title": "A"}], 'data[0]: must be an object with "paragraphs", a list'),
        ([{"title": "A", "paragraphs": [{"context": " ", "qas": []}]}], 'data[0].paragraphs[0]: "context" must be'),
        ([{"title": "A", "paragraphs": [{"context": "x", "qas": [{"id": "a", "answers": []}]}]}],
         'data[0].paragraphs[0].qas[0]: "question" must be a non-empty string'),
        ([{"title": "A", "paragraphs": [{"context": "x", "qas": [{"question": "Who?", "answers": ["x"]}]}]}],
         'data[0].paragraphs[0].qas[0]: "answers" must be a list of {"text": …, "answer_start": …}'),
        ([{"title": "A", "paragraphs": [{"context": "x", "qas": [{"id": "a", "question": "Who?"}]}]},
          {"title": "B", "paragraphs": [{"context": "y", "qas": [{"id": "a", "question": "What?"}]}]}],
         "data[1].paragraphs[0].qas[0]: duplicate id 'a', the id of data[0].paragraphs[0].qas[0] too"),
    ],
)
def test_a_bad_squad_file_names_the_place(tmp_path, data, message):
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"version": "1.1", "data": data}))
    with pytest.raises(errors.InvalidRequest) as raised:
        load_questions(path)
    assert str(raised.value).startswith(f"{path}, {message}")


def test_squad_flattened_to_jsonl_as_datasets_writes_it(tmp_path):
    from assistant.eval.questions import squad_file

    rover, flew = "Boeing built the rover.", "It flew in 1971."
    lines = [
        {"id": "q1", "title": "Apollo", "context": rover, "question": "Who built it?",
         "answers": {"text": ["Boeing", "Boeing"], "answer_start": [0, 0]}},
        {"id": "q2", "title": "Apollo", "context": rover, "question": "Who painted it?",  # v2.0's unanswerable
         "answers": {"text": [], "answer_start": []}},
        {"title": "Apollo", "context": flew, "question": "When did it fly?", "answers": {"text": ["1971"], "answer_start": [11]}},
    ]
    path = tmp_path / "validation.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert load_questions(path) == [
        EvalQuestion("q1", "Who built it?", ("Boeing",), "Apollo.txt", True),
        EvalQuestion("q2", "Who painted it?", (), "Apollo.txt", False),
        EvalQuestion("line-3", "When did it fly?", ("1971",), "Apollo.txt", True),
    ]
    assert squad_file(path).articles == {"Apollo.txt": f"Apollo\n\n{rover}\n\n{flew}\n"}  # each paragraph once

    path.write_text(json.dumps(lines[0]) + "\n" + json.dumps({"question": "Who?", "answers": ["Kerry"]}) + "\n")
    with pytest.raises(errors.InvalidRequest, match=r'validation.jsonl, line 2: a line of flattened SQuAD needs "context"'):
        load_questions(path)
    # a line of the shared format with a "context" of its own is still that format
    path.write_text(json.dumps({"question": "Who?", "answers": ["Kerry"], "context": "a note"}) + "\n")
    assert load_questions(path) == [EvalQuestion("line-1", "Who?", ("Kerry",), None, True)]


def test_squad_titles_and_contexts_of_any_kind_make_articles_that_hold_their_answers(tmp_path):
    from assistant.eval.questions import squad_file

    long_cjk = "日本語の記事" * 20  # 360 bytes in UTF-8: over a file system's 255
    context = "The __init__.py file sets *flags* and [links](x); R&amp;D spent  10  million."
    path = tmp_path / "odd.json"
    path.write_text(squad(
        {"title": long_cjk, "paragraphs": [{"context": context, "qas": [
            {"id": "a", "question": "How much?", "answers": [{"text": "10  million", "answer_start": 60}]}]}]},
        *({"title": "?" * n, "paragraphs": [{"context": "x", "qas": []}]} for n in range(1, 4)),
    ))
    squad_read = squad_file(path)
    [name, *others] = squad_read.articles
    assert len(name.encode()) <= 255 and name.startswith("日本語の記事") and others == ["article.txt", "article-2.txt", "article-3.txt"]
    assert squad_read.articles[name].endswith(context.replace("  ", " ") + "\n")  # plain text: its words as written
    assert squad_read.questions[0].answers == ("10 million",)  # whitespace as the context's


def test_a_json_file_whose_own_data_field_is_no_list_of_articles_is_jsonl(tmp_path):
    path = tmp_path / "q.json"
    path.write_text(json.dumps({"question": "What?", "answers": ["x"], "data": "meta"}))
    assert load_questions(path) == [EvalQuestion("line-1", "What?", ("x",), None, True)]


def test_a_corpus_folder_written_out_another_way_before_is_not_read_as_this_one(tmp_path):
    """The folder is named by the file's bytes and by how its articles are written out: a folder of the day's
    first form (Markdown files) was read back, and every question named an article it did not hold."""
    import hashlib

    from assistant.eval.questions import squad_file
    from assistant.eval.squad import corpus_folder

    path = tmp_path / "dev.json"
    path.write_text(squad({"title": "Apollo", "paragraphs": [{"context": "Boeing built the rover.", "qas": []}]}))
    older = tmp_path / "cache" / "squad-articles" / f"dev-{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"
    older.mkdir(parents=True)
    (older / "Apollo.md").write_text("# Apollo\n\nBoeing built the rover.\n")
    folder = corpus_folder(path, squad_file(path), tmp_path / "cache")
    assert folder != older and [p.name for p in folder.iterdir()] == ["Apollo.txt"]
    assert corpus_folder(path, squad_file(path), tmp_path / "cache") == folder  # written once, then read back
