"""Settings: a misspelt or malformed setting is an error naming it, never silently ignored."""

from __future__ import annotations

import os
import subprocess

import pytest
from servers import CLI

from assistant.errors import ConfigError
from assistant.settings import load_settings


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No ASSISTANT_* variable from the caller's shell; the working directory without an assistant.toml."""
    for name in [n for n in os.environ if n.startswith("ASSISTANT_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.fast
def test_a_config_file_that_is_not_toml_is_named(clean_env):
    (clean_env / "assistant.toml").write_text("top_k = [unclosed\n")
    with pytest.raises(ConfigError, match=r"assistant.toml: not valid TOML: .*line 1"):
        load_settings()


@pytest.mark.fast
def test_a_misspelt_key_in_the_config_file_is_named_with_the_setting_meant(clean_env):
    (clean_env / "assistant.toml").write_text("answerabilty_threshold = 100\n")
    with pytest.raises(ConfigError, match=r"no setting 'answerabilty_threshold' \(did you mean 'answerability_threshold'\?\)"):
        load_settings()
    (clean_env / "assistant.toml").write_text("answerability_threshold = 100\n")
    assert load_settings().answerability_threshold == 100


@pytest.mark.fast
def test_a_misspelt_keyword_is_named(clean_env):
    with pytest.raises(ConfigError, match=r"load_settings: no setting 'index_dri' \(did you mean 'index_dir'\?\)"):
        load_settings(index_dri="elsewhere")


@pytest.mark.fast
def test_nan_and_inf_are_no_settings_and_off_reads_every_sentence(clean_env, monkeypatch):
    for value in ("nan", "inf", "-inf"):  # a nan threshold compares false with everything: refusals were off
        monkeypatch.setenv("ASSISTANT_ANSWERABILITY_THRESHOLD", value)
        with pytest.raises(ConfigError, match="answerability_threshold: Input should be a finite number"):
            load_settings()
    monkeypatch.delenv("ASSISTANT_ANSWERABILITY_THRESHOLD")
    monkeypatch.setenv("ASSISTANT_READER_STOP_SCORE", "off")
    assert load_settings().reader_stop_score is None
    (clean_env / "assistant.toml").write_text('reader_stop_score = "off"\n')
    monkeypatch.delenv("ASSISTANT_READER_STOP_SCORE")
    assert load_settings().reader_stop_score is None


@pytest.mark.fast
def test_an_index_dir_that_is_a_file_is_named(clean_env):
    (clean_env / "a-file").write_text("x")
    with pytest.raises(ConfigError, match=f"index_dir: {clean_env / 'a-file'} is a file, not a folder"):
        load_settings(index_dir=clean_env / "a-file")


@pytest.mark.fast
def test_a_misspelt_variable_is_named(clean_env, monkeypatch):
    monkeypatch.setenv("ASSISTANT_TOPK", "3")
    with pytest.raises(ConfigError, match=r"ASSISTANT_TOPK: no such setting \(did you mean 'top_k'\?\)"):
        load_settings()
    monkeypatch.delenv("ASSISTANT_TOPK")
    for name in ("ASSISTANT_EVAL_CACHE_DIR", "ASSISTANT_BENCH_KEY", "ASSISTANT_TOP_K"):  # not settings, but known
        monkeypatch.setenv(name, "3")
    assert load_settings().top_k == 3


def test_the_cli_says_it_in_one_line(clean_env):
    (clean_env / "assistant.toml").write_text("top_k = [unclosed\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    done = subprocess.run([str(CLI), "list"], cwd=clean_env, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("error: assistant.toml: not valid TOML")


def test_serve_on_a_host_that_does_not_resolve_is_a_one_line_error(clean_env):
    """uvicorn aborted the whole process (SIGABRT) on a name it could not resolve."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")},
           "ASSISTANT_INDEX_DIR": str(clean_env / "index"), "ASSISTANT_PAGE_UPLOADS": "off"}
    done = subprocess.run([str(CLI), "serve", "--host", "no.such.host.invalid", "--port", "7999"], cwd=clean_env,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "error: host: 'no.such.host.invalid' cannot be listened on" in done.stderr


def test_serve_seed_must_be_a_folder(clean_env):
    """`--seed` ingests a folder into an empty index; a file or a missing folder is refused before serving."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")},
           "ASSISTANT_INDEX_DIR": str(clean_env / "index")}
    (clean_env / "one.txt").write_text("A single article.")
    for seed, why in (("one.txt", "is a file"), ("missing", "does not exist")):
        done = subprocess.run([str(CLI), "serve", "--seed", seed, "--port", "7999"], cwd=clean_env, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and "--seed" in done.stderr and why in done.stderr, done.stderr
        assert not (clean_env / "index").exists()  # refused before the index was opened
