"""`assistant eval` on a file mixing factoid and summary lines, end to end through the real CLI.

Real embedder, real Chroma, the default backend, two small articles written here (never evaluation articles).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rouge_score import rouge_scorer
from typer.testing import CliRunner

from assistant.cli import app
from assistant.eval.metrics import METRICS
from assistant.eval.summary_metrics import SUMMARY_METRICS

ARTICLES = {
    "Honey_Bee.md": "# Honey bee\n\nHoney bees live in colonies with a single queen. A worker bee lives for about six "
    "weeks in summer. The queen bee can live for up to five years and lays up to 2,000 eggs a day. Beekeepers "
    "harvest the honey in late summer and leave some for the winter.\n",
    "Glass_Making.md": "# Glass making\n\nMost glass is made by melting sand, soda ash and limestone together in a "
    "furnace at about 1,700 degrees Celsius. The molten glass is then shaped by blowing, pressing or floating it on "
    "a bed of molten tin. Recycled glass melts at a lower temperature, which saves energy.\n",
}
FACTOID = [
    {"id": "queen", "question": "How long can a queen bee live?", "answers": ["five years"],
     "article": "Honey_Bee.md", "answerable": True},
    {"id": "glass", "question": "What is glass made from?", "answers": ["sand"],
     "article": "Glass_Making.md", "answerable": True},
]
MARKUP_HIGHLIGHT = "Glass is made by melting sand & <b>soda ash</b>."
SUMMARY = [
    {"id": "s-bee", "task": "summary", "question": "Summarize this article.", "article": "Honey_Bee.md",
     "scope": {"article": "Honey_Bee.md"}, "answerable": True, "answers": [],
     "highlights": ["Honey bees live in colonies with one queen.", "A queen can live five years."]},
    {"id": "s-glass", "task": "summary", "question": "What is this article about?", "article": "Glass_Making.md",
     "scope": {"article": "Glass_Making.md"}, "answerable": True, "answers": [],
     "highlights": [MARKUP_HIGHLIGHT, "Recycled glass saves energy."]},
]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("eval-summary")
    (root / "corpus").mkdir()
    for name, text in ARTICLES.items():
        (root / "corpus" / name).write_text(text)
    write_jsonl(root / "mixed.jsonl", [FACTOID[0], SUMMARY[0], FACTOID[1], SUMMARY[1]])
    write_jsonl(root / "factoid.jsonl", FACTOID)
    return root


def run_eval(workspace: Path, questions: str, out: str, *extra: str):
    env = {
        "ASSISTANT_EVAL_CACHE_DIR": str(workspace / "cache"),
        "ASSISTANT_INDEX_DIR": str(workspace / "user-index"),
        "ASSISTANT_CONFIG": "",
        "COLUMNS": "200",
    }
    args = ["eval", str(workspace / questions), "--corpus", str(workspace / "corpus"), "--out", str(workspace / out)]
    return CliRunner().invoke(app, [*args, *extra], env=env)


@pytest.fixture(scope="module")
def mixed(workspace):
    result = run_eval(workspace, "mixed.jsonl", "mixed")
    assert result.exit_code == 0, result.output
    out = workspace / "mixed"
    return result, json.loads((out / "summary.json").read_text()), read_jsonl(out / "results.jsonl")


@pytest.fixture(scope="module")
def factoid_only(workspace, mixed):
    result = run_eval(workspace, "factoid.jsonl", "factoid")
    assert result.exit_code == 0, result.output
    return json.loads((workspace / "factoid/summary.json").read_text())


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_summary_object_has_exactly_the_seven_keys(mixed):
    result, summary, _ = mixed
    assert list(summary["summary"]) == ["rouge1", "rouge2", "rougeLsum", "words_median", "article_precision",
                                        "refusal_rate", "n"]
    overview = summary["summary"]
    assert overview["n"] == 2 and 0 <= overview["refusal_rate"] <= 1
    for name in ("rouge1", "rouge2", "rougeLsum"):
        assert 0 <= overview[name] <= 1
    assert "summary.rouge1" in result.stdout and "summary.article_precision" in result.stdout


def test_factoid_metrics_come_from_factoid_lines_only(mixed, factoid_only):
    _, summary, _ = mixed
    timing = {"latency_p50_ms", "latency_p95_ms", "ingest_s", "n_questions"}
    assert {m: summary[m] for m in METRICS if m not in timing} == {m: factoid_only[m] for m in METRICS if m not in timing}
    assert summary["str_em"] == 1.0
    assert summary["n_questions"] == 4 and factoid_only["n_questions"] == 2
    assert summary["n_answerable"] == 2 and summary["n_unanswerable"] == 0
    assert "summary" not in factoid_only  # no summary lines: no "summary" object


def test_rouge_matches_rouge_score_on_the_same_texts(mixed):
    _, summary, results = mixed
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
    direct = []
    for r in (r for r in results if r["task"] == "summary"):
        assert r["highlights"] == next(s["highlights"] for s in SUMMARY if s["id"] == r["id"])
        text = re.sub(r"\s*\[\d+\]", "", r["answer"]).strip()
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s]
        scores = scorer.score("\n".join(r["highlights"]), "\n".join(sentences))
        expected = {name: s.fmeasure for name, s in scores.items()} if not r["refused"] else dict.fromkeys(scores, 0.0)
        assert {name: r["outcome"][name] for name in expected} == pytest.approx(expected)
        direct.append(expected)
    for name in ("rouge1", "rouge2", "rougeLsum"):
        assert summary["summary"][name] == pytest.approx(sum(d[name] for d in direct) / 2, abs=1e-4)


def test_summary_lines_are_asked_with_their_article_selected(mixed):
    _, summary, results = mixed
    for r in (r for r in results if r["task"] == "summary"):
        assert r["target_article_id"] and r["scope"] == r["article"]
        assert r["retrieved"] and {p["article_id"] for p in r["retrieved"]} == {r["target_article_id"]}
        assert not r["refused"] and r["citations"]  # the default backend answers an overview, with citations
        assert {c["article_id"] for c in r["citations"]} == {r["target_article_id"]}
    assert summary["summary"]["article_precision"] == 1.0 and summary["summary"]["refusal_rate"] == 0.0
    factoid = next(r for r in results if r["id"] == "queen")
    assert len({p["article_id"] for p in factoid["retrieved"]}) == 2  # factoid lines search the whole corpus


def test_report_shows_the_rouge_histogram_and_the_highlights_escaped(workspace, mixed):
    html = (workspace / "mixed/report.html").read_text()
    assert html.count("data:image/png;base64,") == 4  # latency, score vs threshold, STR-EM per article, ROUGE
    assert '<img src="data:image/png;base64,' in html.split("ROUGE of the overviews (2)")[1]
    assert "Worst overviews (2, lowest ROUGE-1 first)" in html
    assert "Glass is made by melting sand &amp; &lt;b&gt;soda ash&lt;/b&gt;." in html and "<b>soda" not in html
    assert "<li>A queen can live five years.</li>" in html
    assert "vs refusal threshold" in html and "Top retrieval score" not in html


def test_compare_goes_into_summary_json_and_the_report(workspace, mixed, factoid_only):
    result = run_eval(workspace, "mixed.jsonl", "again", "--compare", str(workspace / "mixed/summary.json"))
    assert result.exit_code == 0, result.output
    summary = json.loads((workspace / "again/summary.json").read_text())
    compared = summary["compare"]
    assert set(compared) == set(METRICS) | {f"summary.{name}" for name in SUMMARY_METRICS}
    for change in compared.values():
        assert set(change) == {"before", "after", "delta", "verdict"}
    # the default backend is deterministic: same answers, no change
    assert compared["str_em"] == {"before": 1.0, "after": 1.0, "delta": 0.0, "verdict": ""}
    assert compared["summary.rouge1"]["delta"] == 0.0 and compared["summary.rouge1"]["verdict"] == ""
    assert compared["n_questions"]["before"] == 4 and summary["compared_with"] == str(workspace / "mixed/summary.json")
    html = (workspace / "again/report.html").read_text()
    assert f"Compared with {workspace / 'mixed/summary.json'}" in html and "<th>summary.rougeLsum</th>" in html

    # against a run without summary lines: only the factoid metrics are compared
    result = run_eval(workspace, "mixed.jsonl", "vs-factoid", "--compare", str(workspace / "factoid/summary.json"))
    assert result.exit_code == 0, result.output
    compared = json.loads((workspace / "vs-factoid/summary.json").read_text())["compare"]
    assert set(compared) == set(METRICS) and compared["n_questions"]["delta"] == 2


@pytest.mark.parametrize(
    "line, message",
    [
        ({**FACTOID[1], "task": "essay"}, '"task" must be "factoid" or "summary" (or absent), got \'essay\''),
        ({k: v for k, v in SUMMARY[1].items() if k != "highlights"}, 'a summary line needs "highlights"'),
        ({**SUMMARY[1], "highlights": []}, 'a summary line needs "highlights": a non-empty list of strings (got none)'),
        ({**SUMMARY[1], "scope": {"article": "No_Such.md"}}, "\"scope\": article 'No_Such.md' is not in the corpus"),
    ],
)
def test_bad_lines_are_one_line_errors_naming_line_and_field(workspace, line, message):
    questions = write_jsonl(workspace / "bad.jsonl", [SUMMARY[0], line])
    result = run_eval(workspace, "bad.jsonl", "bad")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {questions}, line 2: {message}"), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert "corpus index" not in result.stderr  # found before the ingest
