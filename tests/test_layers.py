"""The layers of ARCHITECTURE.md, held by reading every import of the package (no module is run)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast
PACKAGE = Path(__file__).resolve().parent.parent / "assistant"

# (importing part, imported part, why): a part is a module path prefix under assistant/
NEVER = [
    ("ingest/", "web/", "stages know no surface"), ("index/", "web/", "stages know no surface"),
    ("retrieval.py", "web/", "stages know no surface"), ("answer/", "web/", "stages know no surface"),
    ("question/", "web/", "stages know no surface"),
    ("web/", "index/", "surfaces go through the Assistant"), ("web/", "retrieval.py", "surfaces go through the Assistant"),
    ("web/", "answer/", "surfaces go through the Assistant"), ("web/", "ingest/", "surfaces go through the Assistant"),
    ("cli.py", "answer/", "surfaces go through the Assistant"), ("cli.py", "index/", "surfaces go through the Assistant"),
    ("eval/", "answer/", "the evaluator goes through the Assistant"),
    ("eval/", "retrieval.py", "the evaluator goes through the Assistant"),
    ("answer/", "index/", "answering works on given passages only"), ("answer/", "ingest/", "shared text lives in the base"),
    ("answer/", "store/", "answering works on given passages only"),
    ("question/", "answer/", "the question is understood before answering"),
    ("question/", "retrieval.py", "understanding the question needs no passages"),
    *[(base, upper, "the base imports nothing above it")
      for base in ("settings.py", "errors.py", "models.py", "text.py", "vocabulary.py", "prompts.py")
      for upper in ("core.py", "ingester.py", "chain.py", "web/", "answer/", "index/", "ingest/", "question/", "store/")],
]


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(("assistant", *path.relative_to(PACKAGE).with_suffix("").parts))
        found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that ``path`` imports, anywhere in it (function-level and TYPE_CHECKING too)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base) if node.level else node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                out.add(full if full in known else target)
        elif isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
    return {m for m in out if m in known and m != name}


def test_no_module_imports_across_a_forbidden_boundary():
    known = modules()
    relative = {name: path.relative_to(PACKAGE).as_posix() for name, path in known.items()}
    broken = []
    for name, path in known.items():
        for target in imports(name, path, known):
            for source_part, target_part, why in NEVER:
                if relative[name].startswith(source_part) and relative[target].startswith(target_part):
                    broken.append(f"{relative[name]} imports {relative[target]}: {why}")
    assert broken == []


def test_there_is_no_import_cycle():
    known = modules()
    graph = {name: imports(name, path, known) - {"assistant"} for name, path in known.items() if name != "assistant"}
    seen: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, trail: list[str]) -> list[str] | None:
        seen[name] = 1
        for target in sorted(graph.get(name, ())):
            if seen.get(target) == 1:
                return [*trail, name, target]
            if target not in seen and (cycle := visit(target, [*trail, name])):
                return cycle
        seen[name] = 2
        return None

    for start in sorted(graph):
        if start not in seen:
            cycle = visit(start, [])
            assert cycle is None, " -> ".join(cycle)
