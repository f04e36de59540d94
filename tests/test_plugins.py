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


def _installed(site: Path, name: str, entry_points: str, module: str = "") -> None:
    """A package as pip leaves it: its metadata with entry points, and its module, in ``site``."""
    dist = site / f"{name.replace('-', '_')}-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(entry_points)
    if module:
        (site / f"{name.replace('-', '_')}.py").write_text(module)


def test_a_broken_plugin_is_an_error_naming_it_and_one_nobody_chose_breaks_nothing(tmp_path):
    site, twin = tmp_path / "site", tmp_path / "twin"
    _installed(site, "broken-plugins", "[article_assistant.backends]\nbroken = no_such_module_xyz:Backend\n"
               "notaclass = broken_plugins:THING\nbadinit = broken_plugins:TooFew\nbadanswer = broken_plugins:NoRequest\n"
               "[article_assistant.embedders]\nbad = no_such_embed_mod:E\n",
               'THING = "hello"\n\n\nclass TooFew:\n    def __init__(self, settings):\n        pass\n\n\n'
               'class NoRequest:\n    def __init__(self, settings, embedder, prompts):\n        pass\n\n'
               '    def answer(self, question, passages):\n        pass\n')
    _installed(twin, "twin-plugin", "[article_assistant.backends]\nextractive = twin_plugin:Other\n", "class Other:\n    pass\n")
    env = {**os.environ, "PYTHONPATH": str(site), "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
           "ASSISTANT_CONFIG": ""}

    def cli(*args: str, **more: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(CLI), *args], env={**env, **more}, capture_output=True, text=True, timeout=300)

    ingested = cli("ingest", str(SEED_ARTICLE))
    assert ingested.returncode == 0, ingested.stderr
    # the index's embedder is found although a broken embedder plugin is installed
    answered = cli("ask", "What does JIG stand for?", "--json")
    assert answered.returncode == 0 and "Joint Implementation Group" in answered.stdout, answered.stderr
    for backend, message in [
        ("broken", "answer backend 'broken' (broken-plugins: no_such_module_xyz:Backend) cannot be loaded: "
                   "ModuleNotFoundError"),
        ("notaclass", "answer backend 'notaclass' (broken-plugins: broken_plugins:THING) is not a class"),
        # made or called with the wrong arguments: said at start-up, not a traceback (or a 500 per question)
        ("badinit", "answer backend 'badinit' (broken-plugins: broken_plugins:TooFew) cannot be used: TypeError"),
        ("badanswer", "answer backend 'badanswer' (broken-plugins: broken_plugins:NoRequest) cannot be used: TypeError"),
    ]:
        failed = cli("ask", "What does JIG stand for?", "--backend", backend)
        assert failed.returncode == 1 and message in failed.stderr and "Traceback" not in failed.stderr, failed.stderr
    # two packages declaring one name: an error naming both, never whichever sys.path finds first
    twice = cli("ask", "What does JIG stand for?", PYTHONPATH=f"{site}{os.pathsep}{twin}")
    assert twice.returncode == 1 and "Traceback" not in twice.stderr, twice.stderr
    assert "answer backend 'extractive' is declared by more than one package" in twice.stderr
    assert "twin-plugin: twin_plugin:Other" in twice.stderr
