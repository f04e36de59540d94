"""Read evaluation questions: JSONL (shared/evaldata format), CSV with ``question,answer`` columns, or SQuAD's
JSON (v1.1 or v2.0, nested or flattened to JSONL; it carries its articles: see squad.py).

JSONL line: ``{"id", "question", "answers": [gold, ...], "article": file name or null, "answerable": bool}``;
only ``question`` is required (``answerable`` defaults to "has answers"). ``"history"``, a list of the
conversation's earlier ``{"question", "answer"}`` turns (oldest first, as /api/ask's), makes the line a follow-up. ``"task"`` is ``"factoid"`` (the
default) or ``"summary"``: a request for an overview of one article, with ``"highlights"`` (a non-empty list of
strings, the reference) and optionally ``"scope": {"article": FILE}`` (asked with that article selected).
CSV: ``question`` and ``answer`` columns, an empty answer meaning "should refuse";
optional ``id`` and ``article`` columns.
Every problem is reported as ``FILE, line N: what is wrong``.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from .. import errors
from ..models import Turn
from .records import FACTOID, SUMMARY, TASKS, EvalQuestion
from .squad import SquadFile, is_flat_squad, read_flat_squad, read_squad, squad_document

JSONL_SUFFIXES = {".jsonl", ".json", ".ndjson"}
CSV_SUFFIXES = {".csv"}
FIELDS = ("id", "question", "answers", "article", "answerable", "task", "highlights", "scope", "history")


def load_questions(path: Path, warn: Callable[[str], None] | None = None) -> list[EvalQuestion]:
    """The file's questions; ``warn`` is told of fields it ignores that look like a known one misspelt (which
    would change the scores)."""
    return load_question_file(path, warn)[0]


def load_question_file(path: Path, warn: Callable[[str], None] | None = None
                       ) -> tuple[list[EvalQuestion], SquadFile | None]:
    """The file's questions, and for a SQuAD file (read once) its articles too."""
    if path.is_dir():
        raise errors.InvalidRequest(str(path), "is a folder, not a questions file")
    if not path.is_file():
        raise errors.InvalidRequest(str(path), "no such questions file")
    suffix = path.suffix.lower()
    squad = squad_file(path)
    if squad is not None:
        questions = squad.questions
    elif suffix in JSONL_SUFFIXES:
        questions = _load_jsonl(path, warn or (lambda message: None))
    elif suffix in CSV_SUFFIXES:
        questions = _load_csv(path)
    else:
        raise errors.InvalidRequest(str(path), f"unsupported questions file type {suffix or '(none)'}; use .jsonl, .csv or SQuAD's .json")
    if not questions:
        raise errors.InvalidRequest(str(path), "holds no questions")
    return questions, squad


def squad_file(path: Path) -> SquadFile | None:
    """The questions and articles of a SQuAD file, nested or flattened (see squad.py); None for any other file."""
    suffix = path.suffix.lower()
    if suffix not in JSONL_SUFFIXES or not path.is_file():
        return None
    text = _read_text(path)
    document = squad_document(text) if suffix == ".json" else None
    if document is not None:
        return read_squad(path, document)
    records = _jsonl_records(path, text)
    first = next(records, None)
    if first is None or not is_flat_squad(first[1]):
        return None
    return read_flat_squad(path, [first, *records])


def _jsonl_records(path: Path, text: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line."""
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _problem(path, line_no, f"not valid JSON ({exc.msg}, column {exc.colno})") from None
        if not isinstance(record, dict):
            raise _problem(path, line_no, "expected a JSON object")
        yield line_no, record


def _problem(path: Path, line: int, reason: str) -> errors.InvalidRequest:
    return errors.InvalidRequest(f"{path}, line {line}", reason)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets save CSV with a BOM
    except UnicodeDecodeError as exc:
        raise errors.InvalidRequest(str(path), f"is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _duplicate(path: Path, line: int, question_id: str, first: int) -> errors.InvalidRequest:
    unnamed = " (a line without an id is named line-N)" if question_id.startswith("line-") else ""
    return _problem(path, line, f"duplicate id {question_id!r}, the id of line {first} too{unnamed}")


def _load_jsonl(path: Path, warn: Callable[[str], None]) -> list[EvalQuestion]:
    questions: list[EvalQuestion] = []
    seen_ids: dict[str, int] = {}
    misspelt: dict[str, tuple[str, list[int]]] = {}  # field -> (the field it looks like, the lines that have it)
    for line_no, record in _jsonl_records(path, _read_text(path)):
        question = _question_from_record(record, default_id=f"line-{line_no}", fail=lambda r, at=line_no: _problem(path, at, r))
        question = dataclasses.replace(question, line=line_no)
        for field in record.keys() - set(FIELDS):  # a field of one's own (a category, a note) is no mistake
            meant = difflib.get_close_matches(field.lower(), FIELDS, n=1, cutoff=0.75)
            if meant:
                misspelt.setdefault(field, (meant[0], []))[1].append(line_no)
        if question.id in seen_ids:
            raise _duplicate(path, line_no, question.id, seen_ids[question.id])
        seen_ids[question.id] = line_no
        questions.append(question)
    for field, (meant, lines) in sorted(misspelt.items()):
        more = f" and {len(lines) - 1} more" if len(lines) > 1 else ""
        warn(f"{path}: the field {field!r} (line {lines[0]}{more}) is not read: did you mean {meant!r}?")
    return questions


def _question_from_record(record: dict, *, default_id: str, fail) -> EvalQuestion:
    """Validate one JSONL record; ``fail(reason)`` builds the error to raise."""
    given_id = record.get("id")
    if given_id is not None and (isinstance(given_id, bool) or not isinstance(given_id, (str, int))):
        raise fail('"id" must be a string or a whole number (or absent)')
    task = record.get("task")
    if task is None:
        task = FACTOID
    if task not in TASKS:
        raise fail(f'"task" must be "factoid" or "summary" (or absent), got {task!r}')
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise fail('"question" must be a non-empty string')
    if "answer" in record and "answers" not in record:  # read as "no gold answers": a question to refuse
        raise fail('the gold answers go in "answers", a list ("answers": ["…"]), not "answer"')
    answers = record.get("answers", [])
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        raise fail('"answers" must be a list of strings')
    answerable = record.get("answerable", bool(answers) or task == SUMMARY)
    if not isinstance(answerable, bool):
        raise fail('"answerable" must be true or false')
    if not answerable and any(a.strip() for a in answers):
        raise fail('"answerable" is false but "answers" names gold answers: one of the two is wrong')
    if task == FACTOID and answerable and not any(a.strip() for a in answers):
        raise fail('an answerable question needs at least one non-empty "answers" string')
    article = record.get("article")
    if article is not None and not isinstance(article, str):
        raise fail('"article" must be a file name or null')
    highlights, scope = (_summary_fields(record, fail) if task == SUMMARY else ((), None))
    history = _history(record.get("history", []), fail)
    return EvalQuestion(
        id=default_id if given_id is None or given_id == "" else str(given_id),
        question=question.strip(),
        answers=tuple(a for a in answers if a.strip()),
        article=article or None,
        answerable=answerable,
        task=task,
        highlights=highlights,
        scope=scope,
        history=history,
    )


def _history(turns: object, fail) -> tuple[Turn, ...]:
    """A line's ``history``: earlier ``{"question", "answer"}`` turns, each field a string."""
    if not isinstance(turns, list):
        raise fail('"history" must be a list of {"question": …, "answer": …} turns')
    checked = []
    for i, turn in enumerate(turns):
        if not (isinstance(turn, dict) and set(turn) == {"question", "answer"}
                and all(isinstance(v, str) for v in turn.values())):
            raise fail(f'"history"[{i}] must be {{"question": "…", "answer": "…"}} (two strings, nothing else)')
        checked.append(Turn(**turn))
    return tuple(checked)


def _summary_fields(record: dict, fail) -> tuple[tuple[str, ...], str | None]:
    """A summary line's ``highlights`` (required, non-empty) and ``scope`` file name (optional)."""
    highlights = record.get("highlights")
    if not isinstance(highlights, list) or not all(isinstance(h, str) for h in highlights):
        raise fail('a summary line needs "highlights": a non-empty list of strings')
    highlights = tuple(h.strip() for h in highlights if h.strip())
    if not highlights:
        raise fail('a summary line needs "highlights": a non-empty list of strings (got none)')
    scope = record.get("scope")
    if scope is None:
        return highlights, None
    scoped = scope.get("article") if isinstance(scope, dict) else None
    if not isinstance(scoped, str) or not scoped.strip() or set(scope) != {"article"}:
        raise fail('"scope" must be {"article": FILE NAME} or null')
    return highlights, scoped.strip()


def _load_csv(path: Path) -> list[EvalQuestion]:
    # A stream, not lines: a quoted cell may hold line breaks, which splitting into lines would delete.
    reader = csv.DictReader(io.StringIO(_read_text(path)))
    columns = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    missing = [c for c in ("question", "answer") if c not in columns]
    if missing:
        raise _problem(path, 1, f"missing column(s) {', '.join(missing)}; the header must name question,answer")
    named = [(name or "").strip().lower() for name in reader.fieldnames or []]
    twice = sorted({name for name in named if named.count(name) > 1})
    if twice:
        raise _problem(path, 1, f"the header names {', '.join(map(repr, twice))} more than once")
    required = 1 + max(named.index("question"), named.index("answer"))  # the optional cells after may be left out
    questions: list[EvalQuestion] = []
    seen_ids: dict[str, int] = {}
    for row in reader:
        cells = [v for k, v in row.items() if k is not None and v is not None] + list(row.get(None) or ())
        line = reader.line_num - sum(v.count("\n") for v in cells)  # where the record starts: a cell may span lines
        if not required <= len(cells) <= len(named):  # DictReader's restkey / restval: cells over or missing
            raise _problem(path, line, f"{len(cells)} cell(s), and the header names {len(named)} "
                                       "(a comma inside a cell needs the cell in double quotes)")

        def cell(name: str, row: dict = row) -> str:
            return (row.get(columns.get(name, ""), "") or "").strip()

        if not cell("question"):
            raise _problem(path, line, "empty question")
        answer = cell("answer")
        question_id = cell("id") or f"line-{line}"
        if question_id in seen_ids:
            raise _duplicate(path, line, question_id, seen_ids[question_id])
        seen_ids[question_id] = line
        questions.append(
            EvalQuestion(
                id=question_id,
                question=cell("question"),
                answers=(answer,) if answer else (),
                article=cell("article") or None,
                answerable=bool(answer),
                line=line,
            )
        )
    return questions
