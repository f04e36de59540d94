"""Summary lines are asked with one article selected: ``"scope": {"article": FILE}`` names it by file name.

Sources of an eval corpus are file paths, so a file name maps to the article whose
``Path(source).name`` it is. A scope that names no article of the corpus (or, in a
corpus with the same file name in two folders, more than one) is an error naming the line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from .. import errors
from ..core import Assistant
from ..models import Filters
from .metrics import contains_answer
from .records import EvalQuestion


def ids_by_file_name(assistant: Assistant) -> dict[str, list[str]]:
    """Article ids of the index, keyed by the file name of their source."""
    return _group((Path(a.source).name, a.id) for a in assistant.articles())


def files_by_name(files: Iterable[Path]) -> dict[str, list[str]]:
    """The corpus files (before ingest), keyed by file name: for failing fast, before the slow ingest."""
    return _group((path.name, str(path)) for path in files)


def check_scopes(questions_file: Path, questions: Sequence[EvalQuestion], known: Mapping[str, Sequence[str]]) -> None:
    """Raise ``FILE, line N: "scope": ...`` for the first scope that names no single article in ``known``."""
    for question in questions:
        if question.scope is None:
            continue
        matches = known.get(question.scope, ())
        if len(matches) != 1:
            why = "is not in the corpus" if not matches else f"names {len(matches)} articles of the corpus"
            where = f"{questions_file}, line {question.line}" if question.line else str(questions_file)
            raise errors.InvalidRequest(where, f'"scope": article {question.scope!r} {why}')


def check_articles(questions_file: Path, questions: Sequence[EvalQuestion], files: Mapping[str, Sequence[str]]) -> None:
    """Raise ``FILE, line N: "article": ...`` for the first line whose ``article`` names no file of the corpus (a
    typo would score 0 on article_hit_at_1 and mrr, and show up as an article of its own in the report)."""
    for question in questions:
        if question.article is not None and question.article not in files:
            where = f"{questions_file}, line {question.line}" if question.line else str(questions_file)
            raise errors.InvalidRequest(where, f'"article": {question.article!r} is not a file of the corpus')


def golds_not_in_their_article(questions: Sequence[EvalQuestion], assistant: Assistant,
                                ids: Mapping[str, Sequence[str]]) -> list[EvalQuestion]:
    """Answerable lines none of whose gold answers occurs in the article they name, as str_em reads (normalised):
    a gold copied wrong scores 0 however good the answer (xquad-dev's all occur)."""
    texts: dict[str, str] = {}
    missing = []
    for question in questions:
        matches = ids.get(question.article or "", ())
        if not question.answerable or not question.answers or len(matches) != 1:
            continue
        if matches[0] not in texts:
            texts[matches[0]] = assistant.article(matches[0]).text
        if not contains_answer(texts[matches[0]], question.answers):
            missing.append(question)
    return missing


def scope_filters(question: EvalQuestion, ids: Mapping[str, Sequence[str]]) -> Filters | None:
    """The filters a question is asked with: its scoped article only, or none."""
    if question.scope is None:
        return None
    matches = ids.get(question.scope, ())
    if len(matches) != 1:  # check_scopes runs first; this is for callers that skipped it
        raise errors.InvalidRequest("scope", f"{question.scope!r} names no single article of the corpus")
    return Filters(article_ids=(matches[0],))


def target_article_id(question: EvalQuestion, ids: Mapping[str, Sequence[str]]) -> str | None:
    """The article an overview is about: the scoped one, else the one the line's ``article`` names (if indexed)."""
    name = question.scope or question.article
    matches = ids.get(name, ()) if name else ()
    return matches[0] if len(matches) == 1 else None


def _group(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for key, value in pairs:
        grouped[key].append(value)
    return dict(grouped)
