"""The run's files besides the report: results.jsonl, summary.json, the ragas export; and --compare.

--compare names factoid metrics as in summary.json (``str_em``) and summary metrics with a prefix
(``summary.rouge1``); the latter are compared only when both runs have a ``"summary"`` object.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from .. import errors
from ..core import vector_space
from ..settings import Settings
from .metrics import METRICS, Metric
from .records import QuestionResult
from .summary_metrics import SUMMARY_METRICS, SUMMARY_PREFIX

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"


# What shapes an LLM backend's answers; recorded only when such a backend ran.
LLM_SETTINGS = ("openai_model", "local_model_file", "llm_temperature", "llm_max_tokens", "llm_max_passages")


def settings_used(settings: Settings) -> dict:
    """The settings that change a run's numbers, recorded with them."""
    used = {
        "backend": settings.backend,
        "k": settings.top_k,
        "hybrid": settings.hybrid,
        "rrf_k": settings.rrf_k,
        "answerability_threshold": settings.answerability_threshold,
        "reader_sentences": settings.reader_sentences,
        "reader_stop_score": settings.reader_stop_score,
        "rank_penalty": settings.rank_penalty,
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap_tokens": settings.chunk_overlap_tokens,
        "embedder": vector_space(settings),
    }
    if settings.backend != "extractive":
        used.update({name: _json_plain(getattr(settings, name)) for name in LLM_SETTINGS if hasattr(settings, name)})
    return used


def _json_plain(value):
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def write_result_line(stream: TextIO, result: QuestionResult) -> None:
    # One write per line and a flush, so results survive a Ctrl-C or a crash mid-run.
    stream.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
    stream.flush()


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_ragas(path: Path, results: Sequence[QuestionResult], refusal_text: str) -> None:
    """question/answer/contexts/ground_truth JSONL; an unanswerable question's ground truth is the refusal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as stream:
        for r in results:
            record = {
                "question": r.question,
                "answer": r.answer,
                "contexts": [p["text"] for p in r.retrieved],
                "ground_truth": _ground_truth(r, refusal_text),
            }
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")


def _ground_truth(result: QuestionResult, refusal_text: str) -> str:
    if result.is_summary:
        return "\n".join(result.highlights)
    return result.gold[0] if result.gold else refusal_text


def questions_digest(questions_file: Path) -> str:
    """What --compare checks the questions by: the file's bytes as they were read (at the start of the run)."""
    return hashlib.sha256(questions_file.read_bytes()).hexdigest()


def run_info(questions_file: Path, questions_sha256: str, corpus: Path, interrupted: bool, index_cached: bool,
             n_planned: int) -> dict:
    return {
        "questions_file": str(questions_file),
        "questions_sha256": questions_sha256,
        "corpus": str(corpus.resolve()),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "interrupted": interrupted,
        "n_questions_planned": n_planned,
        "index_cached": index_cached,
    }


# --- showing metrics --------------------------------------------------------------
def shown_decimals(name: str) -> int | None:
    """Decimals a metric is shown with; None: as many as needed (counts, word medians)."""
    name = name.removeprefix(SUMMARY_PREFIX)
    if name in ("n", "words_median"):
        return None
    if name.endswith(("_ms", "_s")):
        return 1
    if name.startswith("n_") or name.endswith("words_median"):
        return None
    return 3


def format_metric(name: str, value, *, signed: bool = False) -> str:
    """How a metric value (or, ``signed``, a change of it) is shown on the terminal and in the report."""
    if value is None:
        return "n/a"
    sign = "+" if signed else ""
    decimals = shown_decimals(name)
    return f"{value:{sign}g}" if decimals is None else f"{value:{sign},.{decimals}f}"


# --- --compare -----------------------------------------------------------------
# Latencies of two runs of the same code on a shared machine differ by several per cent: within this share of the
# earlier one, no verdict.
TIME_NOISE = 0.10


@dataclass(frozen=True)
class MetricChange:
    metric: str
    previous: float | None
    current: float | None

    @property
    def delta(self) -> float | None:
        if self.previous is None or self.current is None:
            return None
        return self.current - self.previous

    @property
    def verdict(self) -> str:
        """"better", "worse" or "" (no change, no direction, or n/a)."""
        better = metric_info(self.metric).better
        decimals = shown_decimals(self.metric)
        # A change too small to show (+0.000) is no change, and so is a time within its noise.
        if better is None or not self.delta or (decimals is not None and round(self.delta, decimals) == 0):
            return ""
        if self.metric.startswith("latency_") and abs(self.delta) <= TIME_NOISE * abs(self.previous or 0):
            return ""
        return "better" if (self.delta > 0) == (better == "higher") else "worse"


def load_summary(path: Path, option: str = "--compare") -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise errors.InvalidRequest(option, f"{path}: no such file") from None
    except IsADirectoryError:
        raise errors.InvalidRequest(option, f"{path} is a folder: name its summary.json") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise errors.InvalidRequest(option, f"{path} is not a summary.json ({exc})") from None
    if not isinstance(data, dict) or not any(name in data for name in METRICS):
        raise errors.InvalidRequest(option, f"{path} is not a summary.json (no metric keys)")
    for part in ("settings", "summary"):  # read by the comparison after the run: a wrong one fails now
        if not isinstance(data.get(part, {}), dict):
            raise errors.InvalidRequest(option, f"{path} is not a summary.json ({part!r} is not an object)")
    return data


def read_results(path: Path) -> list[QuestionResult]:
    """The results a run wrote (one line each, as write_result_line wrote it); a line cut off by a kill is dropped."""
    results = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            results.append(QuestionResult(**json.loads(line)))
        except (json.JSONDecodeError, TypeError):
            break  # the last line, half written when the run was killed: that question is asked again
    return results


def metric_info(name: str) -> Metric:
    """A factoid metric by its name, or a summary metric as ``summary.NAME``."""
    if name.startswith(SUMMARY_PREFIX):
        return SUMMARY_METRICS[name.removeprefix(SUMMARY_PREFIX)]
    return METRICS[name]


def compare(summary: dict, previous: dict) -> list[MetricChange]:
    """Every factoid metric's change; and every summary metric's, when both runs have a "summary" object."""
    changes = [MetricChange(name, _number(previous.get(name)), _number(summary.get(name))) for name in METRICS]
    now, before = summary.get("summary"), previous.get("summary")
    if isinstance(now, dict) and isinstance(before, dict):
        changes += [
            MetricChange(SUMMARY_PREFIX + name, _number(before.get(name)), _number(now.get(name)))
            for name in SUMMARY_METRICS
        ]
    return changes


def compare_record(changes: Sequence[MetricChange]) -> dict[str, dict]:
    """summary.json's "compare" object: metric -> {before, after, delta, verdict}."""
    return {
        c.metric: {
            "before": c.previous,
            "after": c.current,
            "delta": round(c.delta, 4) if c.delta is not None else None,
            "verdict": c.verdict,
        }
        for c in changes
    }


# What a run asked, beside its settings: two runs that differ here measured different things (an interrupted one
# measured fewer questions).
RUN_FACTS = ("questions_sha256", "n_questions_planned", "corpus", "collection", "interrupted")


def changed_settings(summary: dict, previous: dict) -> dict[str, tuple]:
    """Settings, and what the run asked (RUN_FACTS: the questions file's contents, how many, the corpus, whether it
    finished), that differ between the runs: (previous, current) by name."""
    before, now = previous.get("settings") or {}, summary.get("settings") or {}
    changed = {k: (before.get(k), now.get(k)) for k in sorted(set(before) | set(now)) if before.get(k) != now.get(k)}
    # A run written before questions_sha256 was recorded lacks some facts: those are not compared. Since, an
    # absent collection is none.
    facts = [k for k in RUN_FACTS if (k in previous or "questions_sha256" in previous)
             and previous.get(k) != summary.get(k)]
    return {**{k: (previous.get(k), summary.get(k)) for k in facts}, **changed}


def _number(value) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

