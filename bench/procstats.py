"""What a bench reads of processes and the machine: CPU seconds and memory of a process tree (from /proc), the
machine's load, and which code was measured."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench import corpus

ROOT = corpus.ROOT
TICKS = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from 3 (state) on; comm may hold spaces


def process_tree(root: int) -> list[int]:
    """``root`` and every live descendant."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(root: int | None) -> float:
    """CPU time (user + system) of a process tree so far, children it has reaped included."""
    if root is None:
        return 0.0
    total = 0
    for pid in process_tree(root):
        fields = _stat(pid)
        if fields:  # utime, stime, cutime, cstime are fields 14-17, i.e. [11:15] here
            total += sum(int(v) for v in fields[11:15])
    return total / TICKS


def rss_mb(root: int | None) -> float | None:
    """Resident memory of a process tree in MiB (VmRSS summed; shared pages count once per process)."""
    if root is None:
        return None
    total = 0
    for pid in process_tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1) if total else None


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def code_version() -> dict:
    """Which assistant code is measured: its folder, and for this checkout the commit and uncommitted changes."""
    import assistant

    package = Path(assistant.__file__).resolve().parent
    found = {"package": str(package)}
    if (package.parent / "COMMIT").exists():  # an export of a commit (git archive), as the benches may run on
        found["commit"] = (package.parent / "COMMIT").read_text().strip()
    if package == ROOT / "assistant":
        try:
            found["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                             text=True, check=True).stdout.strip()
            changed = subprocess.run(["git", "status", "--porcelain", "assistant"], cwd=ROOT, capture_output=True,
                                     text=True, check=True).stdout.splitlines()
            found["uncommitted_files_under_assistant"] = len(changed)
        except (OSError, subprocess.CalledProcessError):
            pass
    return found
