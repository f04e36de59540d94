"""bench/load.py against a real server: concurrent askers during an upload, no errors, the upload answerable."""

from __future__ import annotations

import json

import pytest
from conftest import EVALDATA, SEEDS

from bench import load as bench


@pytest.mark.slow
def test_load_during_an_upload_has_no_errors_and_the_upload_becomes_answerable(tmp_path):
    out = tmp_path / "load.json"
    code = bench.main([
        "--clients", "4", "--duration", "8",
        "--ingest-articles", "3", "--ingest-paragraphs", "6", "--ingest-after", "2",
        "--corpus", str(SEEDS), "--questions", str(EVALDATA / "seed" / "questions.jsonl"),
        "--sample-every", "2", "--json", str(out),
    ])
    summary = json.loads(out.read_text())
    assert code == 0, summary["failures"]
    assert summary["errors"] == 0 and summary["errors_by_kind"] == {}
    assert summary["ok"] > 0 and summary["throughput_rps"] > 0
    assert summary["latency"]["p50_ms"] > 0 and summary["latency"]["p95_ms"] >= summary["latency"]["p50_ms"]
    ingest = summary["ingest"]
    assert ingest["ok"] and ingest["added"] == 3 and ingest["chunks_added"] > 0
    assert ingest["start_s"] < ingest["end_s"] <= summary["elapsed_s"] + 1
    assert summary["latency_during_ingest"]["requests"] > 0, "some questions were asked while the upload was ingested"
    checks = summary["uploaded_answerable"]
    assert checks and all(c["ok"] for c in checks), checks
    assert all(f"upload:{c['article']}" in c["cited"] and c["expected"] in c["answer"] for c in checks)
    memory = summary["memory"]
    assert memory["rss_start_mb"] > 0 and memory["rss_end_mb"] > 0 and len(memory["samples"]) >= 2
    assert summary["server_log"]["tracebacks"] == 0


@pytest.mark.parametrize("url", ["http://example.com:7860", "http://10.0.0.5:7860", "http://127.0.0.1.nip.io",
                                 "ftp://127.0.0.1/", "http://0.0.0.0:7860"])
def test_only_a_local_server_is_load_tested(url):
    with pytest.raises(SystemExit, match="refusing"):
        bench.parse_args(["--url", url, "--key", "k"])


def test_local_urls_are_accepted():
    assert bench.parse_args(["--url", "http://localhost:7860/", "--key", "k"]).url == "http://localhost:7860"
    assert bench.parse_args(["--url", "http://127.0.0.1:7860", "--key", "k"]).url == "http://127.0.0.1:7860"


def test_synthetic_articles_hold_the_fact_their_question_asks_for():
    articles = bench.synthetic_articles(5, 4, seed=1)
    assert len({a.name for a in articles}) == 5
    for a in articles:
        assert a.answer in a.text and a.question.endswith("?")


def test_distinct_questions_go_on_where_the_last_run_stopped_and_repeat_only_when_all_are_asked():
    questions = [f"Question {i}?" for i in range(50)]
    first = bench.distinct_order(questions, seed=8, start=0)
    asked = [next(first) for _ in range(20)]
    then = bench.distinct_order(questions, seed=8, start=20)  # the next run, told how many were asked
    asked += [next(then) for _ in range(30)]
    assert sorted(asked) == sorted(questions)  # each once
    assert asked[:20] != questions[:20]  # shuffled
    assert next(then) == asked[0]  # all asked: round again, in the same order
