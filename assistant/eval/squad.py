"""SQuAD's JSON (v1.1 and v2.0), the usual file of reading-comprehension questions, which carries its articles.

``{"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question", "answers": [{"text", …}],
"is_impossible"}]}]}]}``. Each title is one article, a text file: the title, then its paragraphs in order. Each
question names its article; one marked impossible (v2.0), or with no answers, is one the article does not answer
(v2.0's ``plausible_answers`` are not gold). SQuAD flattened to JSONL, one question a line with its paragraph and
title (as Hugging Face ``datasets`` writes it), is read the same way. The articles are written out once as a
corpus folder, so ``assistant eval FILE`` needs no ``--corpus``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from .. import errors
from .records import EvalQuestion

# Bump when how the articles are written out changes (names, text), so an older folder is not read as this one.
ARTICLES_FORMAT = 2
MAX_NAME_BYTES = 200  # of a file name made from a title, in UTF-8 (file systems allow 255 bytes)


@dataclass(frozen=True)
class SquadFile:
    questions: list[EvalQuestion]
    articles: dict[str, str]  # file name -> Markdown text


def squad_document(text: str) -> dict | None:
    """The parsed file when ``text`` is one JSON object with a ``data`` field (SQuAD's shape), else None (JSONL)."""
    if not text.lstrip().startswith("{"):
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return None  # several objects, one a line: JSONL
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        return None  # one object of the shared format, whose "data" field is its own
    return document


def read_squad(path: Path, document: dict) -> SquadFile:
    """The questions and articles of a parsed SQuAD file; a problem is ``FILE, data[i]…: what is wrong``."""
    articles = _Articles(path)
    entries = document["data"]
    if not isinstance(entries, list) or not entries:
        raise articles.problem("data", "must be a non-empty list of articles ({\"title\", \"paragraphs\"})")
    for i, entry in enumerate(entries):
        at = f"data[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("paragraphs"), list):
            raise articles.problem(at, 'must be an object with "paragraphs", a list')
        name = articles.named(entry.get("title") or f"article {i + 1}", f"{at}.title")
        for j, paragraph in enumerate(entry["paragraphs"]):
            where = f"{at}.paragraphs[{j}]"
            articles.paragraph(name, paragraph.get("context") if isinstance(paragraph, dict) else None, where)
            if not isinstance(paragraph.get("qas", []), list):
                raise articles.problem(where, '"qas" must be a list of questions')
            for k, qa in enumerate(paragraph.get("qas", [])):
                articles.question(qa, name, f"{where}.qas[{k}]")
    return articles.read()


def is_flat_squad(record: object) -> bool:
    """A JSONL line of SQuAD flattened, one question a line with its paragraph (as Hugging Face ``datasets``
    writes SQuAD: ``{"id", "title", "context", "question", "answers": {"text": [...], "answer_start": [...]}}``).
    Told by ``answers`` in columns: a line of the shared format may carry a ``context`` field of its own."""
    return isinstance(record, dict) and "context" in record and isinstance(record.get("answers"), dict)


def read_flat_squad(path: Path, records: list[tuple[int, dict]]) -> SquadFile:
    """The questions and articles of flattened SQuAD lines (``(line number, record)``): each title is an article
    of its distinct paragraphs, in the order they first come; a problem is ``FILE, line N: what is wrong``."""
    articles = _Articles(path)
    for line, record in records:
        where = f"line {line}"
        if not is_flat_squad(record):
            raise articles.problem(where, 'a line of flattened SQuAD needs "context" and "answers": {"text": [...], '
                                          '"answer_start": [...]}, as the first line has')
        name = articles.named(record.get("title") or "article", where)
        articles.paragraph(name, record["context"], where)
        texts = record["answers"].get("text")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise articles.problem(where, '"answers" must be {"text": [...], "answer_start": [...]}')
        articles.question({**record, "answers": [{"text": t} for t in texts]}, name, where, fallback_id=f"line-{line}")
    return articles.read()


class _Articles:
    """The articles (a title given twice is one article; a paragraph given twice in it, one paragraph) and the
    questions of one file, checked as they are added."""

    def __init__(self, path: Path):
        self.path = path
        self.names: dict[str, str] = {}  # title -> file name
        self.taken: dict[str, int] = {}  # see _file_name (lower-cased: a case-insensitive file system merges two)
        self.headings: dict[str, str] = {}  # file name -> its # heading
        self.paragraphs: dict[str, dict[str, None]] = {}  # file name -> its distinct paragraphs, in order
        self.questions: list[EvalQuestion] = []
        self.seen: dict[str, str] = {}  # question id -> where it was first

    def problem(self, where: str, reason: str) -> errors.InvalidRequest:
        return errors.InvalidRequest(f"{self.path}, {where}", reason)

    def named(self, title: object, where: str) -> str:
        if not isinstance(title, str):
            raise self.problem(where, '"title" must be a string')
        if title not in self.names:
            name = self.names[title] = _file_name(title, self.taken)
            self.headings[name] = " ".join(unquote(title).replace("_", " ").split())
            self.paragraphs[name] = {}
        return self.names[title]

    def paragraph(self, name: str, context: object, where: str) -> None:
        if not isinstance(context, str) or not context.strip():
            raise self.problem(where, '"context" must be a non-empty string')
        self.paragraphs[name].setdefault(" ".join(context.split()))

    def question(self, qa: object, article: str, where: str, fallback_id: str | None = None) -> None:
        question = _question(qa, article, where, fallback_id or where, self.problem)
        if question.id in self.seen:
            raise self.problem(where, f"duplicate id {question.id!r}, the id of {self.seen[question.id]} too")
        self.seen[question.id] = where
        self.questions.append(question)

    def read(self) -> SquadFile:
        articles = {name: "\n\n".join([self.headings[name], *texts]) + "\n"
                    for name, texts in self.paragraphs.items() if texts}
        return SquadFile(questions=self.questions, articles=articles)


def _question(qa: object, article: str, where: str, fallback_id: str, problem) -> EvalQuestion:
    if not isinstance(qa, dict):
        raise problem(where, 'must be an object ({"id", "question", "answers"})')
    question = qa.get("question")
    if not isinstance(question, str) or not question.strip():
        raise problem(where, '"question" must be a non-empty string')
    given_id = qa.get("id")
    if given_id is not None and (isinstance(given_id, bool) or not isinstance(given_id, (str, int))):
        raise problem(where, '"id" must be a string or a whole number (or absent)')
    answers = qa.get("answers", [])
    if not isinstance(answers, list) or not all(isinstance(a, dict) and isinstance(a.get("text"), str) for a in answers):
        raise problem(where, '"answers" must be a list of {"text": …, "answer_start": …}')
    impossible = qa.get("is_impossible", False)
    if not isinstance(impossible, bool):
        raise problem(where, '"is_impossible" must be true or false')
    # whitespace collapsed, as the contexts are written
    golds = () if impossible else tuple(dict.fromkeys(" ".join(a["text"].split()) for a in answers if a["text"].strip()))
    return EvalQuestion(
        id=str(given_id) if given_id not in (None, "") else fallback_id,
        question=question.strip(),
        answers=golds,
        article=article,
        answerable=bool(golds),
    )


def _file_name(title: str, taken: dict[str, int]) -> str:
    """The title (underscores kept, %-escapes decoded) as a safe file name not yet ``taken`` (lower-cased names,
    and for each stem the last number given: ``-2``, ``-3``… go on from it). Plain text, not Markdown: a
    context's ``*``, ``_`` or ``[x](y)`` are its words."""
    stem = re.sub(r"[^\w.,()'+-]", "_", unquote(title)).strip("._")
    stem = stem.encode()[:MAX_NAME_BYTES].decode("utf-8", "ignore") or "article"  # cut whole characters
    n = taken.get(f"{stem.lower()}/", 0)
    name = f"{stem}.txt" if n == 0 else f"{stem}-{n}.txt"
    while name.lower() in taken:
        n = max(n, 1) + 1
        name = f"{stem}-{n}.txt"
    taken[name.lower()] = taken[f"{stem.lower()}/"] = n
    return name


def corpus_folder(path: Path, squad: SquadFile, cache_root: Path) -> Path:
    """The file's articles as a folder of text files under ``cache_root``, named by the file's content and how it
    is written out, and written once (whole or not at all), so that a second run, or ``--resume``, reads the same
    folder."""
    digest = hashlib.sha256(f"{ARTICLES_FORMAT}\0".encode() + path.read_bytes()).hexdigest()[:16]
    folder = cache_root / "squad-articles" / f"{path.stem[:40]}-{digest}"
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".writing-"))
    try:
        for name, text in squad.articles.items():
            (staging / name).write_text(text, encoding="utf-8")
        try:
            staging.rename(folder)
        except OSError:
            if not folder.is_dir():  # not another run's folder that got there first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
