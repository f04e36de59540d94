"""report.html: one self-contained page (inline CSS, plots as base64 PNG) readable offline from disk.

Factoid lines get the metrics, plots and failure list; summary lines (overview requests) get their own
metrics, a ROUGE histogram and the worst overviews (lowest ROUGE-1) beside their highlights; a --compare
run gets a table of changes. All text from questions, answers and articles goes through Jinja's autoescape.
"""

from __future__ import annotations

import base64
import io
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import jinja2

from .metrics import METRICS, is_failure
from .outputs import format_metric
from .records import QuestionResult
from .report_template import REPORT_TEMPLATE
from .summary_metrics import ROUGE_TYPES, SUMMARY_METRICS, SUMMARY_PREFIX

WORST_OVERVIEWS = 10  # shown in the report, lowest ROUGE-1 first


def write_report(path: Path, summary: dict, results: Sequence[QuestionResult]) -> None:
    path.write_text(render_report(summary, results), encoding="utf-8")


def render_report(summary: dict, results: Sequence[QuestionResult]) -> str:
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    environment.filters["basename"] = lambda source: Path(source).name
    threshold = summary["settings"].get("answerability_threshold", 0.0)
    factoid = [r for r in results if not r.is_summary]
    overviews = [r for r in results if r.is_summary]
    overview_metrics = summary.get("summary") or {}
    return environment.from_string(REPORT_TEMPLATE).render(
        summary=summary,
        metrics=[(name, format_metric(name, summary.get(name)), m.description) for name, m in METRICS.items()],
        plots=[plot for plot in (
            _latency_plot(results),
            _score_plot(factoid, threshold, summary["settings"]["backend"]),
            _article_plot(factoid),
        ) if plot],
        failures=[r for r in results if is_failure(r)],
        n_factoid=len(factoid),
        n_overviews=len(overviews),
        overview_metrics=[
            (name, format_metric(SUMMARY_PREFIX + name, overview_metrics.get(name)), m.description)
            for name, m in SUMMARY_METRICS.items()
        ] if overview_metrics else [],
        rouge_plot=_rouge_plot(overviews),
        worst_overviews=sorted(overviews, key=lambda r: r.outcome["rouge1"])[:WORST_OVERVIEWS],
        changes=[
            {**change, "metric": name, "before": format_metric(name, change["before"]),
             "after": format_metric(name, change["after"]), "delta": format_metric(name, change["delta"], signed=True)}
            for name, change in (summary.get("compare") or {}).items()
        ],
    )


# --- plots -------------------------------------------------------------------
def _figure(height: float = 3.2):
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    # Labels are data (article names, questions' metrics): "$x$" in one is text, not mathtext to parse (or fail on).
    matplotlib.rcParams["text.parse_math"] = False
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(7.5, height), dpi=100)


def _counts_on_y(ax, label: str) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_ylabel(label)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.2-question ticks


def _png_data_uri(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _latency_plot(results: Sequence[QuestionResult]) -> dict | None:
    groups = {
        "factoid": [r.latency_ms for r in results if not r.is_summary],
        "summary": [r.latency_ms for r in results if r.is_summary],
    }
    if not any(groups.values()):
        return None
    fig, ax = _figure()
    if groups["summary"]:  # stacked, one colour per task
        ax.hist(list(groups.values()), bins=30, stacked=True, color=["#4c72b0", "#dd8452"],
                label=[f"{task} ({len(values)})" for task, values in groups.items()])
        ax.legend()
    else:
        ax.hist(groups["factoid"], bins=30, color="#4c72b0")
    ax.set_xlabel("latency per question (ms): retrieve + answer")
    _counts_on_y(ax, "questions")
    return {"title": "Latency", "image": _png_data_uri(fig), "caption": ""}


def _score_plot(results: Sequence[QuestionResult], threshold: float, backend: str) -> dict | None:
    # Plot the score the threshold is applied to when the backend reports it, else the top passage's.
    use_support = any(r.support is not None for r in results)

    def score(r: QuestionResult) -> float | None:
        return r.support if use_support else r.top_passage_score

    groups = {
        "answerable": [score(r) for r in results if r.answerable and score(r) is not None],
        "unanswerable": [score(r) for r in results if not r.answerable and score(r) is not None],
    }
    if not any(groups.values()):
        return None
    every = [v for values in groups.values() for v in values]
    lo, hi = (min(every), max(every)) if use_support else (0.0, 1.0)
    fig, ax = _figure()
    for (label, scores), colour in zip(groups.items(), ("#55a868", "#c44e52")):
        if scores:
            ax.hist(scores, bins=30, range=(lo, hi), alpha=0.6, color=colour, label=f"{label} ({len(scores)})")
    ax.axvline(threshold, color="black", linestyle="--", label=f"answerability_threshold = {threshold:g}")
    ax.set_xlabel("the reader's answerability of the best sentence" if use_support else "top retrieved passage score (dense cosine)")
    _counts_on_y(ax, "questions")
    ax.legend()
    if use_support:
        caption = (
            f"The score is the {backend} backend's support for its best sentence (support in results.jsonl: the "
            "reader's answerability): below the line it refuses."
        )
    else:
        caption = (
            "The score is the top passage's dense cosine similarity (top_passage_score in results.jsonl); "
            f"the {backend} backend reports no support score of its own, so the line marks the setting's value."
        )
    title = "Answer support score" if use_support else "Top passage score"
    title += " vs refusal threshold: answerable vs unanswerable (factoid questions)"
    return {"title": title, "image": _png_data_uri(fig), "caption": caption}


def _article_plot(results: Sequence[QuestionResult]) -> dict | None:
    by_article: dict[str, list[float]] = defaultdict(list)
    for r in results:
        if r.answerable and r.article:
            by_article[r.article].append(r.outcome["str_em"])
    if not by_article:
        return None
    names = sorted(by_article, key=lambda a: sum(by_article[a]) / len(by_article[a]))
    fig, ax = _figure(height=max(2.5, 0.28 * len(names) + 1))
    ax.barh(
        [f"{name} ({len(by_article[name])})" for name in names],
        [sum(by_article[n]) / len(by_article[n]) for n in names],
        color="#4c72b0",
    )
    ax.set_xlim(0, 1)
    ax.set_xlabel("STR-EM (answerable questions; count in brackets)")
    ax.tick_params(axis="y", labelsize=8)
    return {"title": "STR-EM per article", "image": _png_data_uri(fig), "caption": ""}


def _rouge_plot(overviews: Sequence[QuestionResult]) -> dict | None:
    if not overviews:
        return None
    fig, ax = _figure()
    scores = [[r.outcome[name] for r in overviews] for name in ROUGE_TYPES]
    ax.hist(scores, bins=20, range=(0, 1), color=["#4c72b0", "#55a868", "#c44e52"],
            label=["ROUGE-1", "ROUGE-2", "ROUGE-Lsum"])
    ax.set_xlabel("F1 against the highlights (a refusal scores 0)")
    _counts_on_y(ax, "overviews")
    ax.legend()
    return {"title": f"ROUGE of the overviews ({len(overviews)})", "image": _png_data_uri(fig), "caption": ""}
