"""bench/fit_refusal.py: the refusal weights, fitted on an open-threshold eval's refusal signals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench import fit_refusal

pytestmark = pytest.mark.fast


def _results(tmp_path, n: int = 400):
    """Questions on 20 articles whose answerability overlaps between answerable and not, and whose term coverage
    separates what the answerability does not: the coverage must earn a positive weight and more refusals."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        answerable = i % 4 != 0
        rows.append({
            "id": f"q{i}", "article": f"a{i % 20}.md", "answerable": answerable, "task": "factoid", "error": None,
            "outcome": {"str_em": 1.0 if answerable else 0.0},
            "refusal_signals": {"answerability": float(rng.normal(2.0 if answerable else 0.0, 2.0)),
                                "passage_score": float(rng.uniform(0.3, 0.6)),
                                "term_coverage": float(rng.uniform(0.5, 1.0) if answerable else rng.uniform(0.0, 0.6))},
        })
    rows.append({"id": "none", "article": "a0.md", "answerable": True, "task": "factoid", "error": None,
                 "outcome": {"str_em": 0.0}, "refusal_signals": {}})  # nothing read: refused whatever the weights
    path = tmp_path / "results.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_signal_that_separates_earns_its_weight_and_more_refusals(tmp_path):
    data = fit_refusal.load(_results(tmp_path))
    assert np.isnan(data["x"][-1]).all()
    alone = fit_refusal.cross_validate(data, None, 0.05)
    both = fit_refusal.cross_validate(data, [0, 2], 0.05)
    assert both[0] > alone[0] + 0.2  # refusal recall
    assert alone[1] <= 0.1 and both[1] <= 0.1  # false refusals near the 0.05 asked (picked on the other fold)
    coef = fit_refusal.fit(data["x"], data["answerable"], [0, 1, 2]).coef_[0]
    assert coef[0] > 0 and coef[2] / coef[0] > 1


def test_the_threshold_refuses_at_most_the_share_of_answerable_allowed():
    score, answerable = np.arange(100.0), np.ones(100, dtype=bool)
    at = fit_refusal.threshold(score, answerable, 0.05)
    assert (score < at).mean() == pytest.approx(0.05)


def test_a_run_without_signals_is_turned_away_naming_its_file(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({"id": "q", "answerable": True, "outcome": {}}) + "\n")
    with pytest.raises(SystemExit, match="results.jsonl"):
        fit_refusal.load(path)
