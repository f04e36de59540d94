"""Ask every question once: retrieve, answer, time it, score it.

A summary line with a scope is asked with that article selected (``Filters(article_ids=...)``), as the chat
page's article picker does; everything goes through ``Assistant.ask``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .. import errors
from ..core import Assistant
from ..models import Answer
from .metrics import question_outcome
from .records import EvalQuestion, QuestionResult
from .scopes import ids_by_file_name, scope_filters, target_article_id
from .summary_metrics import overview_outcome


@dataclass
class RunResults:
    results: list[QuestionResult]
    interrupted: bool  # Ctrl-C stopped the run; ``results`` holds the questions that finished


def ask_all(
    assistant: Assistant,
    questions: Sequence[EvalQuestion],
    on_result: Callable[[QuestionResult], None] | None = None,
    article_ids: Mapping[str, Sequence[str]] | None = None,
    collection: str | None = None,
) -> RunResults:
    """Ask each question with the assistant's settings (backend, top_k, ...); Ctrl-C ends the run early.

    ``article_ids``: the index's article ids by file name (default: read from the assistant), for scopes.
    ``collection``: every question is asked within that collection, as a key scoped to it asks.
    """
    if article_ids is None:
        article_ids = ids_by_file_name(assistant)
    results: list[QuestionResult] = []
    try:
        # models loaded before the clock starts, so question 1's latency (or the first follow-up's) is not their load
        assistant.warm_up(follow_ups=any(question.history for question in questions))
        for question in questions:
            result = ask_one(assistant, question, article_ids, collection)
            results.append(result)
            if on_result:
                on_result(result)
    except KeyboardInterrupt:
        return RunResults(results, interrupted=True)
    return RunResults(results, interrupted=False)


def ask_one(
    assistant: Assistant, question: EvalQuestion, article_ids: Mapping[str, Sequence[str]] | None = None,
    collection: str | None = None,
) -> QuestionResult:
    """Ask as every surface does; the answer carries the passages it saw, so those are the ones scored."""
    if article_ids is None:
        article_ids = ids_by_file_name(assistant)
    filters = scope_filters(question, article_ids)
    if collection is not None:
        filters = assistant.scoped(filters, [collection], field="--collection")
    result = QuestionResult(
        id=question.id,
        question=question.question,
        gold=list(question.answers),
        article=question.article,
        answerable=question.answerable,
        task=question.task,
        highlights=list(question.highlights),
        scope=question.scope,
        history=[turn.model_dump() for turn in question.history],
        target_article_id=target_article_id(question, article_ids) if question.is_summary else None,
    )
    started = time.perf_counter()
    try:
        answer = assistant.ask(question.question, list(question.history), filters=filters)
    except errors.AssistantError as exc:
        result.error = str(exc)
    else:
        _record_answer(result, answer)
    result.latency_ms = (time.perf_counter() - started) * 1000
    result.outcome = overview_outcome(result) if result.is_summary else question_outcome(result)
    return result


def _record_answer(result: QuestionResult, answer: Answer) -> None:
    result.answer = answer.answer
    result.refused = answer.refused
    result.refusal_reason = answer.refusal_reason
    result.notice = answer.notice
    # The citation's one shape (as the API sends it), plus the passage it sits in, which the metrics read.
    result.citations = [{**c.model_dump(mode="json"), "passage": c.passage} for c in answer.citations]
    result.retrieved = [
        {
            "rank": p.rank,
            "chunk_id": p.chunk.id,
            "article_id": p.chunk.article_id,
            "source": p.source,
            "score": round(p.score, 4),
            "text": p.chunk.text,
        }
        for p in answer.passages
    ]
    result.top_passage_score = result.retrieved[0]["score"] if answer.passages else None
    result.support = answer.support
