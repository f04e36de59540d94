"""What bench/load.py prints and saves of a run: latency figures, failures by kind, memory over time (a plot)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from assistant.eval.metrics import percentile

if TYPE_CHECKING:  # annotations only: bench.load imports this module
    from bench.load import Result, Run


def latency_figures(results: list[Result]) -> dict:
    ms = [(r.end - r.start) * 1000 for r in results]
    return {
        "requests": len(ms),
        "p50_ms": _round(percentile(ms, 50)),
        "p95_ms": _round(percentile(ms, 95)),
        "max_ms": _round(max(ms) if ms else None),
    }


def _timeline(results: list[Result], elapsed: float, step: float) -> list[int]:
    """Answers completed in each `step`-second bin of the run."""
    bins = [0] * max(1, int(elapsed // step) + 1)
    for r in results:
        bins[min(len(bins) - 1, int(r.end // step))] += 1
    return bins


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def summarise(run: Run, driven: dict, mode: str, soak_warmup: float) -> dict:
    ok = [r for r in run.results if r.outcome == "ok"]
    errors: dict[str, int] = {}
    for r in run.results:
        if r.outcome != "ok":
            errors[r.outcome] = errors.get(r.outcome, 0) + 1
    elapsed = max([driven["load_end_s"]] + [r.end for r in run.results])
    summary = {
        "mode": mode,
        "url": run.url,
        "clients": run.clients,
        "duration_s": run.duration,
        "elapsed_s": round(elapsed, 1),
        "requests": len(run.results),
        "ok": len(ok),
        "refused": sum(r.refused for r in ok),
        "errors": sum(errors.values()),
        "errors_by_kind": errors,
        "error_examples": run.error_examples,
        "throughput_rps": round(len(ok) / elapsed, 2) if elapsed else 0.0,
        "latency": latency_figures(ok),
        "answers_per_5s": _timeline(ok, elapsed, 5.0),
    }
    if run.articles:
        ingest = dict(run.ingest)
        start, end = ingest.get("start_s"), ingest.get("end_s")
        if start is not None and end is not None:
            ingest["duration_s"] = round(end - start, 1)
            during = [r for r in ok if r.end >= start and r.start <= end]
            outside = [r for r in ok if r.end < start or r.start > end]
            summary["latency_during_ingest"] = latency_figures(during)
            summary["latency_outside_ingest"] = latency_figures(outside)
            ingest["finished_before_load_end"] = end <= driven["load_end_s"]
        for key in ("start_s", "end_s"):
            if ingest.get(key) is not None:
                ingest[key] = round(ingest[key], 1)
        ingest["added"] = len(ingest.get("added", []))
        ingest.pop("ids", None)
        summary["ingest"] = ingest
        summary["uploaded_answerable"] = driven["checks"]
    samples = run.rss_samples
    if samples:
        values = [v for _, v in samples]
        memory = {"rss_start_mb": values[0], "rss_end_mb": values[-1], "rss_max_mb": max(values),
                  "samples": [list(s) for s in samples]}
        if mode == "soak":
            settled = [v for t, v in samples if t >= soak_warmup] or values[-1:]
            memory.update(warmup_s=soak_warmup, rss_after_warmup_mb=settled[0],
                          growth_after_warmup_mb=round(values[-1] - settled[0], 1),
                          growth_per_hour_mb=_growth_per_hour([s for s in samples if s[0] >= soak_warmup]))
        summary["memory"] = memory
    if run.server_died:
        summary["server_died"] = run.server_died
    return summary


def _growth_per_hour(samples: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of RSS over time, in MiB per hour (None over less than two minutes: too noisy)."""
    if len(samples) < 3 or samples[-1][0] - samples[0][0] < 120:
        return None
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    if not spread:
        return None
    return round(sum((t - mean_t) * (v - mean_v) for t, v in samples) / spread * 3600, 1)


def failures(summary: dict) -> list[str]:
    problems = []
    if summary["errors"]:
        problems.append(f"{summary['errors']} request(s) failed")
    if summary.get("server_died"):
        problems.append(summary["server_died"])
    if not summary["ok"]:
        problems.append("no request succeeded")
    ingest = summary.get("ingest")
    if ingest is not None:
        if not ingest.get("ok"):
            problems.append(f"the upload failed: {ingest.get('error') or ingest.get('failed')}")
        bad = [c["article"] for c in summary.get("uploaded_answerable", []) if not c["ok"]]
        if bad or not summary.get("uploaded_answerable"):
            problems.append(f"uploaded articles not answered from themselves: {bad or 'none checked'}")
    if summary.get("server_log", {}).get("tracebacks"):
        problems.append(f"the server logged {summary['server_log']['tracebacks']} traceback(s)")
    return problems


def sparkline(values: list[float]) -> str:
    bars = "▁▂▃▄▅▆▇█"
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    return "".join(bars[min(len(bars) - 1, int((v - low) / span * len(bars)))] for v in values)


def plot_rss(samples: list[list[float]], path: Path, title: str, warmup_s: float = 0) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot([t / 60 for t, _ in samples], [v for _, v in samples], marker=".", linewidth=1)
    if warmup_s:
        ax.axvline(warmup_s / 60, color="grey", linestyle=":", linewidth=1, label="end of warm-up")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel("minutes")
    ax.set_ylabel("server RSS (MiB)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def print_report(summary: dict, notes: list[str]) -> None:
    def ms(figures: dict) -> str:
        return (f"p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms "
                f"({figures['requests']} requests)") if figures["requests"] else "no requests"

    print(f"\n{summary['mode']}: {summary['clients']} clients for {summary['duration_s']:g} s against {summary['url']}")
    for note in notes:
        print(f"  note: {note}")
    print(f"  requests    {summary['requests']} ({summary['ok']} ok, {summary['refused']} of them refusals), "
          f"{summary['errors']} error(s) {summary['errors_by_kind'] or ''}")
    for kind, example in summary["error_examples"].items():
        print(f"    {kind}: {example}")
    print(f"  throughput  {summary['throughput_rps']} answers/s over {summary['elapsed_s']} s")
    timeline = summary["answers_per_5s"]
    if len(timeline) > 2 and max(timeline):
        print(f"              {sparkline(timeline)}  (answers per 5 s: {min(timeline)}–{max(timeline)})")
        ingest = summary.get("ingest", {})
        if ingest.get("start_s") is not None and ingest.get("end_s") is not None:
            marks = "".join("^" if i * 5 < ingest["end_s"] and (i + 1) * 5 > ingest["start_s"] else " "
                            for i in range(len(timeline)))
            print(f"              {marks.rstrip()}  (^ ingest running)")
    print(f"  latency     {ms(summary['latency'])}")
    if "latency_during_ingest" in summary:
        print(f"    during ingest   {ms(summary['latency_during_ingest'])}")
        print(f"    outside ingest  {ms(summary['latency_outside_ingest'])}")
    if "ingest" in summary:
        ingest = summary["ingest"]
        state = "ok" if ingest.get("ok") else f"FAILED {ingest.get('error') or ingest.get('failed')}"
        print(f"  ingest      {ingest.get('articles')} articles ({ingest.get('bytes', 0) / 1024:.0f} KiB) uploaded at "
              f"{ingest.get('start_s')} s, done at {ingest.get('end_s')} s ({ingest.get('duration_s')} s): "
              f"{ingest.get('added', 0)} added, {ingest.get('chunks_added')} chunks, {state}")
        if ingest.get("finished_before_load_end") is False:
            print("    (the ingest outlasted the load: only part of it ran under load)")
        for check in summary.get("uploaded_answerable", []):
            mark = "ok " if check["ok"] else "BAD"
            print(f"    {mark} {check['question']} -> {check.get('answer', check.get('error', ''))[:100]!r}")
    memory = summary.get("memory")
    if memory:
        line = (f"  server RSS  start {memory['rss_start_mb']:.0f} MiB, end {memory['rss_end_mb']:.0f} MiB, "
                f"max {memory['rss_max_mb']:.0f} MiB")
        if "rss_after_warmup_mb" in memory:
            line += (f"; after {memory['warmup_s']:.0f} s warm-up {memory['rss_after_warmup_mb']:.0f} MiB, "
                     f"growth since {memory['growth_after_warmup_mb']:+.1f} MiB"
                     + (f" (trend {memory['growth_per_hour_mb']:+.0f} MiB/h)" if memory["growth_per_hour_mb"] is not None
                        else ""))
        print(line)
        values = [v for _, v in memory["samples"]]
        if len(values) > 2:
            spread = f"{min(values):.0f}–{max(values):.0f} MiB"
            print(f"              {sparkline(values)}  ({len(values)} samples, {spread})")
        if memory.get("plot"):
            print(f"              plot: {memory['plot']}")
    log = summary.get("server_log")
    if log and (log.get("tracebacks") or log.get("error_lines")):
        print(f"  server log  {log['tracebacks']} traceback(s), {log['error_lines']} ERROR line(s)")
        if log.get("first_traceback"):
            print("    " + log["first_traceback"].replace("\n", "\n    "))
