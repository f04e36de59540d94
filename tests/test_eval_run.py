"""`assistant eval` end to end through the real CLI: real embedder, real Chroma, a tiny corpus made here.

One module-scoped run is shared by most tests; the model loads once per process, and
runs after the first reuse the cached corpus index, so each extra run takes seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import assistant.eval.runner as eval_runner
from assistant.cli import app
from assistant.core import Assistant
from assistant.eval.metrics import METRICS

ARTICLES = {
    "Lunar_Rover.md": "# Lunar Roving Vehicle\n\nThe Lunar Roving Vehicle was a battery-powered four-wheeled rover "
    "used on the Moon in the last three missions of the American Apollo program, in 1971 and 1972. "
    "Boeing was the company that built the rover. Each rover carried two astronauts, their equipment and lunar samples.\n",
    "Honey_Bee.md": "# Honey bee\n\nHoney bees live in colonies with a single queen. A worker bee lives for about "
    "six weeks in summer. The queen bee can live for up to five years and lays up to 2,000 eggs a day.\n",
    "Glass_Making.md": "# Glass making\n\nMost glass is made by melting sand, soda ash and limestone together in a "
    "furnace at about 1,700 degrees Celsius. The molten glass is then shaped by blowing, pressing or floating it "
    "on a bed of molten tin.\n",
}
# The gold of "tricky" occurs nowhere, so it always lands in the report's failure list, markup and all.
TRICKY_QUESTION = "Which colour is the <script>alert(1)</script> rover & its wheels?"
QUESTIONS = [
    {"id": "rover", "question": "Which company built the lunar rover?", "answers": ["Boeing"],
     "article": "Lunar_Rover.md", "answerable": True},
    {"id": "queen", "question": "How long can a queen bee live?", "answers": ["five years", "5 years"],
     "article": "Honey_Bee.md", "answerable": True},
    {"id": "glass", "question": "What is glass made from?", "answers": ["sand"],
     "article": "Glass_Making.md", "answerable": True},
    {"id": "tricky", "question": TRICKY_QUESTION, "answers": ["<b>plaid</b>"],
     "article": "Lunar_Rover.md", "answerable": True},
    {"id": "worldcup", "question": "Who won the 1998 football World Cup?", "answers": [],
     "article": None, "answerable": False},
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("eval")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text)
    (root / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    return root


def run_eval(workspace: Path, *args: str):
    """`assistant eval` in-process, with the eval cache and the user's index both inside ``workspace``."""
    env = {
        "ASSISTANT_EVAL_CACHE_DIR": str(workspace / "cache"),
        "ASSISTANT_INDEX_DIR": str(workspace / "user-index"),
        "ASSISTANT_CONFIG": "",
        "COLUMNS": "200",  # rich wraps at the terminal width; keep one-line messages on one line
    }
    return CliRunner().invoke(app, ["eval", *args], env=env)


def default_args(workspace: Path, out: str) -> list[str]:
    return [str(workspace / "questions.jsonl"), "--corpus", str(workspace / "corpus"), "--out", str(workspace / out)]


@pytest.fixture(scope="module")
def first_run(workspace):
    result = run_eval(workspace, *default_args(workspace, "first"))
    assert result.exit_code == 0, result.output
    return result, workspace / "first"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_gold_answer_that_its_article_does_not_hold_is_named_before_the_run(first_run):
    result, _ = first_run
    assert ("note: 1 answerable question(s) name an article in which none of their answers occurs: line 4 "
            "('<b>plaid</b>'); they score 0 whatever is answered") in result.stderr


def test_writes_results_one_line_per_question(first_run):
    result, out = first_run
    results = read_jsonl(out / "results.jsonl")
    assert [r["id"] for r in results] == [q["id"] for q in QUESTIONS]
    n = len(QUESTIONS)  # off a terminal (a CI log) no bar is drawn: progress is a line at every tenth
    assert f"eval: {n}/{n} · str_em " in result.stderr and "ingest corpus: " in result.stderr
    for r in results:
        assert {"question", "gold", "answer", "refused", "citations", "retrieved", "outcome", "latency_ms",
                "top_passage_score"} <= set(r)
        assert r["latency_ms"] > 0
        assert r["retrieved"] and {"chunk_id", "score", "source", "text"} <= set(r["retrieved"][0])
        assert r["top_passage_score"] == r["retrieved"][0]["score"]
        assert {"str_em", "token_f1", "reciprocal_rank", "refusal_correct"} <= set(r["outcome"])
    rover = results[0]
    assert not rover["refused"] and "Boeing" in rover["answer"] and rover["outcome"]["str_em"] == 1.0
    assert rover["citations"][0]["source"].endswith("Lunar_Rover.md")


def test_summary_has_every_metric_and_the_settings(first_run):
    _, out = first_run
    summary = json.loads((out / "summary.json").read_text())
    assert set(METRICS) <= set(summary)
    assert summary["n_questions"] == 5 and summary["index_cached"] is False and summary["interrupted"] is False
    assert summary["n_answerable"] == 4 and summary["n_unanswerable"] == 1 and summary["n_errors"] == 0
    assert {"backend", "k", "hybrid", "answerability_threshold", "chunk_tokens", "embedder"} <= set(summary["settings"])
    # three articles fit in the top 5 passages: every gold that exists is retrieved; "plaid" exists nowhere
    assert summary["answer_recall_at_k"] == 0.75
    assert summary["str_em"] <= 0.75
    for name, metric in METRICS.items():
        value = summary[name]
        assert value is None or value >= 0
        if metric.better == "higher":
            assert value is None or value <= 1


def test_report_is_self_contained_and_escaped(first_run):
    _, out = first_run
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3  # latency, score vs threshold, per-article STR-EM
    assert 'src="http' not in html and "<link" not in html and "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; rover &amp; its wheels?" in html
    assert "&lt;b&gt;plaid&lt;/b&gt;" in html
    assert "<details>" in html


def test_terminal_shows_the_summary_table(first_run):
    result, _ = first_run
    for name in METRICS:
        assert name in result.stdout
    assert "corpus index built" in result.stderr


def test_corpus_gets_its_own_cached_index_apart_from_the_users(first_run, workspace):
    cached = [p for p in (workspace / "cache").iterdir() if p.is_dir()]
    assert len(cached) == 1 and (cached[0] / "eval-index.json").exists()
    assert not (workspace / "user-index").exists()


def test_second_run_reuses_the_index_and_compares(first_run, workspace):
    result = run_eval(workspace, *default_args(workspace, "second"), "--compare", str(workspace / "first/summary.json"))
    assert result.exit_code == 0, result.output
    assert "corpus index reused" in result.stderr
    summary = json.loads((workspace / "second/summary.json").read_text())
    assert summary["index_cached"] is True and summary["ingest_s"] < 0.1  # as docs/evaluation.md says: ≈ 0
    # the extractive backend is deterministic: same answers, so no change in any answer metric
    assert "previous" in result.stdout and "Δ" in result.stdout
    rows = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("│")}
    assert "+0.000" in rows["str_em"] and "+0.000" in rows["mrr"]
    assert "+0" in rows["n_questions"]
    assert "setting changed" not in result.stdout and summary["settings_changed"] == {}


def test_compare_says_when_the_runs_asked_other_questions(first_run, workspace):
    fewer = workspace / "fewer.jsonl"
    fewer.write_text((workspace / "questions.jsonl").read_text().splitlines()[0] + "\n")
    result = run_eval(workspace, str(fewer), "--corpus", str(workspace / "corpus"), "--out",
                      str(workspace / "fewer"), "--compare", str(workspace / "first/summary.json"))
    assert result.exit_code == 0, result.output
    changed = json.loads((workspace / "fewer/summary.json").read_text())["settings_changed"]
    assert set(changed) == {"questions_sha256", "n_questions_planned"} and changed["n_questions_planned"] == {
        "before": len(QUESTIONS), "after": 1}
    assert "setting changed: questions_sha256: " in result.stdout


def test_gates_exit_1_naming_each_metric_out_of_bounds(first_run, workspace):
    result = run_eval(
        workspace, *default_args(workspace, "gated"),
        "--fail-under", "str_em=1.01", "--fail-under", "mrr=0", "--fail-over", "latency_p50_ms=0.001",
    )
    assert result.exit_code == 1
    assert "error: str_em = " in result.stderr and "is under the floor 1.01" in result.stderr
    assert "latency_p50_ms = " in result.stderr and "is above the ceiling 0.001" in result.stderr
    assert "mrr" not in result.stderr  # its floor was met
    assert (workspace / "gated/summary.json").exists()  # the files are written before the gates are checked


def test_csv_questions_and_ragas_export(first_run, workspace):
    questions = workspace / "questions.csv"
    questions.write_text(
        "question,answer\nWhich company built the lunar rover?,Boeing\n"
        "How long can a queen bee live?,five years\nWho won the 1998 football World Cup?,\n"
    )
    ragas = workspace / "ragas.jsonl"
    result = run_eval(
        workspace, str(questions), "--corpus", str(workspace / "corpus"), "--out", str(workspace / "csv"),
        "--ragas", str(ragas),
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((workspace / "csv/summary.json").read_text())
    assert summary["n_questions"] == 3
    assert summary["mrr"] is None and summary["article_hit_at_1"] is None  # CSV names no articles
    assert summary["answer_recall_at_k"] == 1.0
    exported = read_jsonl(ragas)
    assert [set(r) for r in exported] == [{"question", "answer", "contexts", "ground_truth"}] * 3
    assert exported[0]["ground_truth"] == "Boeing" and exported[0]["contexts"]
    assert exported[2]["ground_truth"] == "The articles don't say."  # the refusal is the right reply


def test_ctrl_c_keeps_what_ran(first_run, workspace, monkeypatch):
    real_ask_one = eval_runner.ask_one
    calls = []

    def interrupted_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_ask_one(*args, **kwargs)

    monkeypatch.setattr(eval_runner, "ask_one", interrupted_on_third)
    result = run_eval(workspace, *default_args(workspace, "interrupted"))
    assert result.exit_code == 130
    assert "interrupted" in result.stderr
    out = workspace / "interrupted"
    assert len(read_jsonl(out / "results.jsonl")) == 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_questions"] == 2 and summary["n_questions_planned"] == 5 and summary["interrupted"] is True
    assert "Interrupted: 2 of 5 questions ran" in (out / "report.html").read_text()


def test_sigterm_is_taken_as_ctrl_c_and_a_compare_with_that_run_says_it_stopped(first_run, workspace, monkeypatch):
    """A CI job's timeout or cancel sends SIGTERM: the questions that finished are written with a summary and a
    report that agree (not the last run's summary beside new results), and the exit code says SIGTERM."""
    import os
    import signal

    real_ask_one = eval_runner.ask_one
    calls = []

    def terminated_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # a real signal, to this process, as `kill` sends it
        return real_ask_one(*args, **kwargs)

    out = workspace / "terminated"
    assert run_eval(workspace, *default_args(workspace, "terminated")).exit_code == 0  # a whole run first
    monkeypatch.setattr(eval_runner, "ask_one", terminated_on_third)
    result = run_eval(workspace, *default_args(workspace, "terminated"))
    assert result.exit_code == 143 and "interrupted" in result.stderr
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back as it was
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["n_questions"] == len(read_jsonl(out / "results.jsonl")) == 2
    monkeypatch.undo()
    compared = run_eval(workspace, *default_args(workspace, "after-terminated"),
                        "--compare", str(out / "summary.json"))
    assert compared.exit_code == 0, compared.output
    assert "setting changed: interrupted: True → False" in compared.stdout


def test_resume_asks_only_what_a_stopped_run_had_not_answered(first_run, workspace, monkeypatch):
    _, whole = first_run
    real_ask_one = eval_runner.ask_one
    asked: list[str] = []
    stop_at = [3]

    def interrupted_on_third(assistant, question, *args, **kwargs):
        asked.append(question.id)
        if len(asked) == stop_at[0]:
            raise KeyboardInterrupt
        return real_ask_one(assistant, question, *args, **kwargs)

    monkeypatch.setattr(eval_runner, "ask_one", interrupted_on_third)
    assert run_eval(workspace, *default_args(workspace, "resumed")).exit_code == 130
    other = run_eval(workspace, *default_args(workspace, "resumed"), "--resume", "--k", "2")
    assert other.exit_code == 2 and "ran with other settings (k): run without --resume" in other.stderr
    fewer = run_eval(workspace, *default_args(workspace, "resumed"), "--resume", "--limit", "3")
    assert fewer.exit_code == 2 and "asked other questions (n_questions_planned changed)" in fewer.stderr
    assert len(read_jsonl(workspace / "resumed" / "results.jsonl")) == 2  # nothing it had was thrown away
    asked.clear()
    stop_at[0] = None  # the resumed run goes to the end
    resumed = run_eval(workspace, *default_args(workspace, "resumed"), "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert "resuming: 2 of 5 questions were answered" in resumed.stderr
    assert asked == [q["id"] for q in QUESTIONS[2:]]  # the two answered are not asked again
    out = workspace / "resumed"
    assert [r["id"] for r in read_jsonl(out / "results.jsonl")] == [q["id"] for q in QUESTIONS]
    summary, first = (json.loads((folder / "summary.json").read_text()) for folder in (out, whole))
    assert summary["interrupted"] is False and summary["n_questions"] == 5
    scored = ("str_em", "mrr", "refusal_recall")
    assert {m: summary[m] for m in scored} == {m: first[m] for m in scored}
    done = run_eval(workspace, *default_args(workspace, "resumed"), "--resume")
    assert done.exit_code == 2 and "finished: nothing to resume" in done.stderr


def test_an_overview_metric_can_gate_a_run(first_run, workspace):
    lines = [{"id": "rover-overview", "task": "summary", "question": "Summarize the article.",
              "highlights": ["Boeing built the battery-powered Lunar Roving Vehicle."],
              "scope": {"article": "Lunar_Rover.md"}}]
    overviews = workspace / "overviews.jsonl"
    overviews.write_text("".join(json.dumps(line) + "\n" for line in lines))
    args = [str(overviews), "--corpus", str(workspace / "corpus"), "--out", str(workspace / "overviews")]
    passed = run_eval(workspace, *args, "--fail-under", "summary.rouge1=0.01")
    assert passed.exit_code == 0, passed.output
    failed = run_eval(workspace, *args, "--fail-under", "summary.rouge1=1.01")
    assert failed.exit_code == 1 and "summary.rouge1 = " in failed.stderr and "under the floor 1.01" in failed.stderr
    unknown = run_eval(workspace, *args, "--fail-under", "summary.nope=1")
    assert unknown.exit_code == 2 and "unknown metric 'summary.nope'" in unknown.stderr


def test_ctrl_c_while_the_models_load_leaves_files_that_agree(first_run, workspace, monkeypatch):
    """Interrupted before the first question: an empty results file with a summary and report that say so (not
    the last run's summary beside an emptied results file)."""
    def interrupted(self, follow_ups=False):
        raise KeyboardInterrupt

    out = workspace / "interrupted-early"
    assert run_eval(workspace, *default_args(workspace, "interrupted-early")).exit_code == 0
    monkeypatch.setattr(Assistant, "warm_up", interrupted)
    result = run_eval(workspace, *default_args(workspace, "interrupted-early"))
    assert result.exit_code == 130 and "interrupted" in result.stderr
    assert (out / "results.jsonl").read_text() == ""
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_questions"] == 0 and summary["interrupted"] is True


def test_output_paths_that_cannot_be_written_fail_before_the_ingest(workspace):
    a_file = workspace / "a-file"
    a_file.write_text("x")
    not_a_summary = workspace / "not-a-summary.json"
    not_a_summary.write_text('{"str_em": 0.5, "settings": ["x"]}')
    corpus = workspace / "corpus"
    for extra, message in [
        (["--out", str(a_file)], f"error: --out: {a_file} is a file, not a folder"),
        (["--out", str(a_file / "sub")], f"error: --out: {a_file / 'sub'} cannot be written: {a_file} is a file"),
        (["--out", str(corpus / "eval")], f"error: --out: {corpus / 'eval'} is inside --corpus {corpus}"),
        (["--ragas", str(workspace)], f"error: --ragas: {workspace} is a folder: name a file"),
        (["--compare", str(workspace)], f"error: --compare: {workspace} is a folder: name its summary.json"),
        (["--compare", str(not_a_summary)], f"error: --compare: {not_a_summary} is not a summary.json ('settings'"),
        (["--fail-under", "str_em=nan"], "error: --fail-under: 'nan' is not a number"),
        (["--out", "/proc/eval-out"], "error: --out: /proc/eval-out cannot be written"),  # tried, not guessed
        (["--ragas", "/proc/ragas.jsonl"], "error: --ragas: /proc/ragas.jsonl cannot be written"),
    ]:
        args = [str(workspace / "questions.jsonl"), "--corpus", str(corpus)]
        result = run_eval(workspace, *args, *(["--out", str(workspace / "unwritten")] if "--out" not in extra else []),
                          *extra)
        assert result.exit_code == 2 and result.stderr.startswith(message), result.stderr
        assert "Traceback" not in result.output and "corpus index" not in result.stderr  # before the ingest
    assert not (corpus / "eval").exists() and not (workspace / "unwritten").exists()


def test_limit(first_run, workspace):
    result = run_eval(workspace, *default_args(workspace, "limited"), "--limit", "2")
    assert result.exit_code == 0, result.output
    assert len(read_jsonl(workspace / "limited/results.jsonl")) == 2


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--fail-under", "bogus=0.5"], "error: --fail-under: unknown metric 'bogus'; choose one of answer_recall_at_k"),
        (["--fail-over", "str_em"], "error: --fail-over: expected METRIC=VALUE, got 'str_em'"),
        (["--compare", "/no/such/summary.json"], "error: --compare: /no/such/summary.json: no such file"),
        (["--backend", "nope"], "error: invalid settings: backend: unknown answer backend 'nope'; choose one of"),
        (["--k", "0"], "error: invalid settings: top_k"),
    ],
)
def test_bad_options_are_one_line_errors(workspace, extra, message):
    result = run_eval(workspace, *default_args(workspace, "bad"), *extra)
    assert result.exit_code == 2
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_missing_corpus_and_malformed_questions_are_one_line_errors(workspace):
    result = run_eval(workspace, str(workspace / "questions.jsonl"), "--corpus", str(workspace / "no-corpus"))
    assert result.exit_code == 2
    assert result.stderr == f"error: --corpus: {workspace / 'no-corpus'} is not a folder\n"

    broken = workspace / "broken.jsonl"
    broken.write_text(json.dumps(QUESTIONS[0]) + "\n" + '{"question": "unterminated\n')
    result = run_eval(workspace, str(broken), "--corpus", str(workspace / "corpus"))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {broken}, line 2: not valid JSON")
    assert result.stderr.count("\n") == 1


def test_multi_turn_lines_are_asked_with_their_history(first_run, workspace):
    """A follow-up line carries the conversation's earlier turns; without them "How long can it live?" is about
    nothing in particular, with them it is about the queen bee."""
    follow_up = {"id": "follow-up", "question": "How long can she live?", "answers": ["five years", "5 years"],
                 "article": "Honey_Bee.md", "answerable": True,
                 "history": [{"question": "Which bee lays up to 2,000 eggs a day?",
                              "answer": "The queen bee can live for up to five years and lays up to 2,000 eggs a day. [1]"}]}
    (workspace / "conversation.jsonl").write_text(json.dumps(follow_up) + "\n")
    result = run_eval(workspace, str(workspace / "conversation.jsonl"), "--corpus", str(workspace / "corpus"),
                      "--out", str(workspace / "conversation"))
    assert result.exit_code == 0, result.output
    [line] = read_jsonl(workspace / "conversation/results.jsonl")
    assert line["history"] == follow_up["history"]
    assert "five years" in line["answer"] and line["outcome"]["str_em"] == 1.0


def test_report_plots_a_name_with_dollar_signs_as_text():
    """matplotlib reads "$…$" in a label as mathtext: an article named so would crash the report unescaped."""
    from assistant.eval.records import QuestionResult
    from assistant.eval.report import _article_plot

    named = [QuestionResult(id=str(i), question="How long is the river?", gold=["120 km"], article=article,
                            answerable=True, answer="It is 120 km long. [1]", outcome={"str_em": 1.0})
             for i, article in enumerate(["$\\undefinedmacro{x}$.md", "costs $5 and $6.txt"])]
    plot = _article_plot(named)
    assert plot is not None and plot["image"].startswith("data:image/png;base64,")


def test_a_squad_file_is_scored_over_the_articles_it_carries(workspace):
    """SQuAD's JSON holds its articles: no --corpus; they are written once under the cache and indexed there."""
    def paragraph(name: str, qas: list[dict]) -> dict:
        return {"context": ARTICLES[name].split("\n\n", 1)[1], "qas": qas}

    squad = {"version": "v2.0", "data": [
        {"title": "Lunar_Roving_Vehicle", "paragraphs": [paragraph("Lunar_Rover.md", [
            {"id": "rover", "question": "Which company built the lunar rover?", "is_impossible": False,
             "answers": [{"text": "Boeing", "answer_start": 180}]},
            {"id": "seats", "question": "What colour were the rover's seats?", "is_impossible": True,
             "answers": [], "plausible_answers": [{"text": "Boeing", "answer_start": 180}]}])]},
        {"title": "Honey_bee", "paragraphs": [paragraph("Honey_Bee.md", [
            {"id": "queen", "question": "How long can a queen bee live?", "is_impossible": False,
             "answers": [{"text": "five years", "answer_start": 150}]}])]},
    ]}
    path = workspace / "dev-v2.0.json"
    path.write_text(json.dumps(squad))
    result = run_eval(workspace, str(path), "--out", str(workspace / "squad"))
    assert result.exit_code == 0, result.output
    lines = {line["id"]: line for line in read_jsonl(workspace / "squad/results.jsonl")}
    assert lines["rover"]["article"] == "Lunar_Roving_Vehicle.txt" and lines["rover"]["outcome"]["str_em"] == 1.0
    assert lines["queen"]["outcome"]["str_em"] == 1.0 and lines["queen"]["outcome"]["article_hit_at_1"] is True
    assert lines["seats"]["answerable"] is False and lines["seats"]["gold"] == []
    summary = json.loads((workspace / "squad/summary.json").read_text())
    corpus = Path(summary["corpus"])
    assert corpus.parent == workspace / "cache" / "squad-articles"
    assert sorted(p.name for p in corpus.iterdir()) == ["Honey_bee.txt", "Lunar_Roving_Vehicle.txt"]
    assert (corpus / "Honey_bee.txt").read_text().startswith("Honey bee\n\nHoney bees live in colonies")

    again = run_eval(workspace, str(path), "--out", str(workspace / "squad-again"))
    assert again.exit_code == 0 and "corpus index reused: 2 article(s)" in again.stderr


def test_without_corpus_a_file_that_carries_no_articles_is_a_one_line_error(workspace):
    result = run_eval(workspace, str(workspace / "questions.jsonl"), "--out", str(workspace / "no-corpus-out"))
    assert result.exit_code == 2
    assert result.stderr == ("error: --corpus: is required: the folder of the articles the questions are about (only a "
                             "SQuAD JSON file carries its own)\n")
    assert not (workspace / "no-corpus-out").exists()
