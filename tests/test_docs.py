"""The documentation holds together: README stays a guide, links resolve, docs/settings.md is current.

Reads files only (no model, no server), so it is part of `make test-fast`.
"""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_LIMIT = 25_600  # bytes: a user's guide; figures and history live in docs/ and CHANGELOG.md
SETTINGS_DOC = ROOT / "docs" / "settings.md"
REGENERATE = ".venv/bin/python -m assistant.settings_doc > docs/settings.md"


def checked_files() -> list[Path]:
    fixed = [README, ROOT / "ARCHITECTURE.md", ROOT / "CHANGELOG.md", ROOT / "bench" / "README.md"]
    return fixed + sorted((ROOT / "docs").glob("*.md"))


FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target) and ![alt](target); the target ends at whitespace (a title may follow) or the closing parenthesis.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
EXPLICIT_ANCHOR = re.compile(r"""<a\s+(?:name|id)=["']([^"']+)["']""")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, inline code removed."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, INLINE_CODE.sub("", line)))
    return lines


def links(path: Path) -> list[tuple[int, str]]:
    found = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        found += [(number, target) for target in LINK.findall(line)]
        reference = REFERENCE.match(line)
        if reference:
            found.append((number, reference.group(1)))
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text as rendered, lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    parts = re.split(r"(`+[^`]*`+)", text)  # code spans keep their text as it is (snake_case included)
    for i in range(0, len(parts), 2):  # the prose between them loses its emphasis markers
        parts[i] = re.sub(r"(\*{1,3})(\S(?:.*?\S)?)\1", r"\2", parts[i])
        parts[i] = re.sub(r"(?<!\w)(_{1,3})(\S(?:.*?\S)?)\1(?!\w)", r"\2", parts[i])
    text = "".join(parts).replace("`", "").strip().lower()
    kept = "".join(c for c in text if c in "-_ " or unicodedata.category(c)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor a Markdown file offers: its headings' slugs (repeats get -1, -2, ...) and explicit ones."""
    text = path.read_text(encoding="utf-8")
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in prose_lines(text):
        found.update(EXPLICIT_ANCHOR.findall(line))
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        heading = None if fenced else HEADING.match(line)
        if heading:
            base = slug(heading.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def is_external(target: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target)) or target.startswith("//")


def test_readme_is_a_guide_not_a_notebook():
    size = len(README.read_bytes())
    assert size <= README_LIMIT, (
        f"README.md is {size:,} bytes; the limit is {README_LIMIT:,}. Move figures to docs/measurements.md, "
        "history to CHANGELOG.md and reference material to docs/"
    )


@pytest.mark.parametrize("path", checked_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path):
    assert path.exists(), f"{path.relative_to(ROOT)} is missing"
    broken = []
    for number, target in links(path):
        if is_external(target):
            continue
        file_part, _, anchor = target.partition("#")
        where = f"{path.relative_to(ROOT)}:{number}: {target}"
        resolved = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not resolved.exists():
            broken.append(f"{where} (no such file)")
            continue
        if anchor and resolved.suffix == ".md" and resolved.is_file():
            if unquote(anchor).lower() not in anchors(resolved):
                broken.append(f"{where} (no heading #{anchor} in {resolved.relative_to(ROOT)})")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_anchor_rule_is_githubs():
    assert slug("Evaluation: `assistant eval`") == "evaluation-assistant-eval"
    assert slug("The OpenAI-compatible endpoint (/v1)") == "the-openai-compatible-endpoint-v1"
    assert slug("How well it answers, how fast") == "how-well-it-answers-how-fast"
    assert slug("`index_poll_s` and **replicas**") == "index_poll_s-and-replicas"


def test_settings_doc_is_generated_from_the_settings():
    from assistant.settings_doc import render

    assert SETTINGS_DOC.exists(), f"docs/settings.md is missing: run `{REGENERATE}`"
    assert SETTINGS_DOC.read_text(encoding="utf-8") == render(), (
        f"docs/settings.md is not what assistant/settings.py says: run `{REGENERATE}`"
    )


def test_settings_doc_names_every_setting():
    from assistant.settings import Settings
    from assistant.settings_doc import render

    text = render()
    missing = [name for name in Settings.model_fields if f"`ASSISTANT_{name.upper()}`" not in text]
    assert not missing, f"not in docs/settings.md: {missing}"


def test_the_settings_doc_loads_no_model():
    """Regenerating docs/settings.md (and importing the settings) imports no model runtime, web stack or store."""
    heavy = ["torch", "onnxruntime", "spacy", "sentence_transformers", "transformers", "chromadb", "gradio"]
    code = (
        "import sys, assistant.settings_doc; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"importing assistant.settings_doc loaded {done.stdout.strip()}"
