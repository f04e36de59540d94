"""CI gates: ``--fail-under METRIC=VALUE`` is a floor, ``--fail-over METRIC=VALUE`` a ceiling.

Use floors for higher-is-better metrics (str_em, mrr, summary.rouge1, ...) and ceilings for
lower-is-better ones (false_refusal_rate, latency_*, answer_words_median).
A gated metric that could not be computed (n/a) fails its gate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .. import errors
from .metrics import METRICS
from .summary_metrics import SUMMARY_METRICS, SUMMARY_PREFIX

GATED = (*METRICS, *(SUMMARY_PREFIX + name for name in SUMMARY_METRICS))  # as --compare names them


class GateFailed(errors.AssistantError):
    """The run finished but a metric fell outside a --fail-under/--fail-over bound."""

    exit_code = 1  # a verdict: a run that could not happen exits 2 (EXIT_NOT_RUN in eval/cli.py)


@dataclass(frozen=True)
class Gate:
    metric: str
    bound: float
    ceiling: bool  # True: fail above the bound (--fail-over); False: fail below it (--fail-under)

    @property
    def option(self) -> str:
        return "--fail-over" if self.ceiling else "--fail-under"

    def violation(self, summary: dict) -> str | None:
        """Why the summary fails this gate, or None when it passes."""
        if self.metric.startswith(SUMMARY_PREFIX):  # an overview's metric, in summary.json's "summary" object
            value = (summary.get("summary") or {}).get(self.metric.removeprefix(SUMMARY_PREFIX))
        else:
            value = summary.get(self.metric)
        if value is None:
            return f"{self.metric} is n/a (no questions it applies to), so {self.option} {self.metric}={self.bound:g} fails"
        if value > self.bound if self.ceiling else value < self.bound:
            relation = "above the ceiling" if self.ceiling else "under the floor"
            return f"{self.metric} = {value:g} is {relation} {self.bound:g}"
        return None


def parse_gates(floors: Sequence[str], ceilings: Sequence[str]) -> list[Gate]:
    return [_parse_gate(text, ceiling=False) for text in floors] + [_parse_gate(text, ceiling=True) for text in ceilings]


def _parse_gate(text: str, *, ceiling: bool) -> Gate:
    option = "--fail-over" if ceiling else "--fail-under"
    metric, sep, bound = text.partition("=")
    metric = metric.strip()
    if not sep:
        raise errors.InvalidRequest(option, f"expected METRIC=VALUE, got {text!r}")
    if metric not in GATED:
        raise errors.InvalidRequest(option, f"unknown metric {metric!r}; choose one of {', '.join(GATED)}")
    try:
        value = float(bound)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):  # nan would pass every check: the gate would be off
        raise errors.InvalidRequest(option, f"{bound.strip()!r} is not a number (in {text!r})")
    return Gate(metric, value, ceiling)


def check_gates(summary: dict, gates: Sequence[Gate]) -> None:
    """Raise GateFailed naming every metric that fell outside its bound."""
    violations = [v for v in (gate.violation(summary) for gate in gates) if v]
    if violations:
        raise GateFailed("; ".join(violations))
