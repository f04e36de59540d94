"""Asking over the seed article: answers with citations, plain refusals, the seed question set."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, SEED_ARTICLE, SEEDS

from assistant import Assistant, Turn

JIG = "What does JIG stand for?"


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def test_jig_is_answered_with_a_citation_into_the_seed_article(seeded_assistant):
    answer = seeded_assistant.ask("What does JIG stand for?")
    assert not answer.refused
    assert "Joint Implementation Group" in answer.answer
    assert re.search(r"\[1\]", answer.answer)
    (citation,) = answer.citations
    article = seeded_assistant.article(citation.article_id)
    assert Path(article.source).name == SEED_ARTICLE.name
    assert article.text[citation.start : citation.end] == citation.quote
    assert "Joint Implementation Group" in citation.quote


def test_question_outside_the_articles_is_refused(seeded_assistant):
    answer = seeded_assistant.ask("What is the capital of France?")
    assert answer.refused and answer.citations == []
    assert answer.answer == "The articles don't say."


# The reader's misses on the seed set (docs/measurements.md, "What limits the figures"): strict, so a reader that
# gets them right fails here until they are taken off the list. None since it reads 8 candidates.
KNOWN_MISSES: dict[str, str] = {}


def test_seed_question_set(seeded_assistant, seed_questions):
    wrong = {}
    for q in seed_questions:
        answer = seeded_assistant.ask(q["question"])
        if q["answerable"]:
            gold_inside = any(_normalise(g) in _normalise(answer.answer) for g in q["answers"])
            right_article = any(
                Path(seeded_assistant.article(c.article_id).source).name == q["article"] for c in answer.citations
            )
            if answer.refused or not gold_inside or not right_article:
                wrong[q["id"]] = (q["question"], answer.answer)
        elif not answer.refused:
            wrong[q["id"]] = (q["question"], answer.answer)
    assert set(wrong) == set(KNOWN_MISSES), wrong
    assert len(seed_questions) - len(wrong) >= 18


def test_follow_up_questions_resolve_pronouns(seeded_assistant):
    history = []
    first = seeded_assistant.ask("Which city is John Kerry visiting?")
    assert "Moscow" in first.answer
    history.append(Turn(question="Which city is John Kerry visiting?", answer=first.answer))
    second = seeded_assistant.ask("Who will he meet on Friday?", history)
    assert second.question == "Who will John Kerry meet on Friday?"
    assert "Lavrov" in second.answer and not second.refused
    history.append(Turn(question="Who will he meet on Friday?", answer=second.answer))
    third = seeded_assistant.ask("Did he deny the report?", history)
    assert "did not deny the report" in third.answer


def test_cli_ask_json(tmp_path):
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "index")}
    assistant_cli = str(Path(sys.executable).parent / "assistant")
    subprocess.run([assistant_cli, "ingest", str(SEEDS)], env=env, check=True, capture_output=True, cwd=ROOT)
    ran = subprocess.run(
        [assistant_cli, "ask", "What does JIG stand for?", "--json"], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert ran.returncode == 0, ran.stderr
    payload = json.loads(ran.stdout)
    assert set(payload) == {"answer", "citations", "refused"}
    assert "Joint Implementation Group" in payload["answer"] and payload["refused"] is False
    citation = payload["citations"][0]
    assert {"n", "title", "source", "quote", "start", "end", "score"} <= set(citation)
    assert citation["source"].endswith(SEED_ARTICLE.name)

    refused = subprocess.run(
        [assistant_cli, "ask", "What is the capital of France?", "--json"], env=env, capture_output=True, text=True, cwd=ROOT
    )
    assert json.loads(refused.stdout) == {"answer": "The articles don't say.", "citations": [], "refused": True}


def test_bad_questions_get_clear_errors(seeded_assistant):
    import pytest

    from assistant import errors

    with pytest.raises(errors.InvalidRequest, match="question: is empty"):
        seeded_assistant.ask("  \x00\x07 ")
    with pytest.raises(errors.InvalidRequest, match="limit"):
        seeded_assistant.ask("why " * 30_000)
    assert not seeded_assistant.ask("What does\x00 JIG\x1b stand for?").refused


def test_the_python_api_checks_its_arguments_as_the_http_api_checks_a_body(seeded_assistant):
    import pytest

    from assistant import errors

    for k in (0, -1, 2.5, True):
        with pytest.raises(errors.InvalidRequest, match=r"^k: must be a whole number"):
            seeded_assistant.ask("What does JIG stand for?", k=k)
    with pytest.raises(errors.InvalidRequest, match=r"^k: "):
        seeded_assistant.as_retriever(k=0)
    with pytest.raises(errors.InvalidRequest, match=r"^filters.article_idz: "):
        seeded_assistant.ask("What does JIG stand for?", filters={"article_idz": ["x"]})
    with pytest.raises(errors.InvalidRequest, match=r"^filters: must be Filters or a dict"):
        seeded_assistant.retrieve("JIG", filters=["x"])
    with pytest.raises(errors.InvalidRequest, match=r"^history\[0\]: must be a Turn"):
        seeded_assistant.ask("Who?", history=[("What does JIG stand for?", "…")])
    # a dict is what /api/ask takes, and it works here too
    article_id = seeded_assistant.articles()[0].id
    answer = seeded_assistant.ask("Who will he meet on Friday?", filters={"article_ids": [article_id]},
                                  history=[{"question": "Which city is John Kerry visiting?", "answer": "Moscow [1]"}])
    assert "Lavrov" in answer.answer


def test_an_assistant_takes_a_backend_object_and_answers_carry_what_they_came_from(seeded_assistant):
    from assistant.answer import ScriptedBackend

    backend = ScriptedBackend(lambda question, passages: f"{passages[0].title} [1]")
    scripted = Assistant(seeded_assistant.settings, embedder=seeded_assistant.embedder,
                         store=seeded_assistant.index.store, backend=backend)
    history = [Turn(question="Which city is John Kerry visiting?", answer="Moscow")]
    answer = scripted.ask("Did he deny the report?", history)
    assert answer.answer.startswith("Kerry in Moscow") and scripted.backend() is backend
    # The answer carries the standalone question and the passages the backend saw, for the evaluator.
    assert backend.calls == [(answer.question, answer.passages)]
    assert answer.question == "Did John Kerry deny the report?" and answer.passages[0].rank == 1
    streamed = list(scripted.stream("What does JIG stand for?"))
    assert streamed[-1].passages and streamed[-1].question == "What does JIG stand for?"
    assert set(answer.public()) == {"answer", "citations", "refused"}  # what it came from is never sent
    assert seeded_assistant.ask(JIG).refusal_reason is None and seeded_assistant.ask("What is the capital of France?").refusal_reason
