"""The worked example plugin of docs/plugins.md, installed as a user would and used through the real CLI.

The two files are taken from the page itself, so the example people copy is the one that is tested.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SEED_ARTICLE

pytestmark = pytest.mark.slow
CLI = Path(sys.executable).parent / "assistant"


def example_files() -> dict[str, str]:
    """Each file of the worked example: the code block after its name (`pyproject.toml`:) on the page."""
    page = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = page.split("### A worked example", 1)[1]
    found = dict(re.findall(r"^`([\w.]+)`:\s*\n+```\w*\n(.*?)^```", section, re.M | re.S))
    assert set(found) == {"pyproject.toml", "assistant_first_sentence.py"}, sorted(found)
    return found


def test_the_worked_example_plugin_installs_and_answers(tmp_path):
    package = tmp_path / "assistant-first-sentence"
    package.mkdir()
    for name, text in example_files().items():
        (package / name).write_text(text, encoding="utf-8")
    site = tmp_path / "site"
    # beside the project in its own folder, as `pip install` would put it in the environment (no network: the
    # project itself is already installed, so its dependency is not fetched)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(package)], check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(site), "ASSISTANT_INDEX_DIR": str(tmp_path / "index")}

    listed = subprocess.run([str(CLI), "backends"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and "first-sentence" in listed.stdout, listed.stdout + listed.stderr
    subprocess.run([str(CLI), "ingest", str(SEED_ARTICLE)], env=env, check=True, capture_output=True, timeout=300)
    answered = subprocess.run([str(CLI), "ask", "What does JIG stand for?", "--backend", "first-sentence", "--json"],
                              env=env, capture_output=True, text=True, timeout=300)
    assert answered.returncode == 0, answered.stderr
    assert "Joint Implementation Group" in answered.stdout and '"refused": false' in answered.stdout
    chosen = subprocess.run([str(CLI), "ask", "What is the capital of Peru?", "--json"],
                            env={**env, "ASSISTANT_BACKEND": "first-sentence"}, capture_output=True, text=True,
                            timeout=300)
    assert chosen.returncode == 0 and '"refused": true' in chosen.stdout, chosen.stdout + chosen.stderr
