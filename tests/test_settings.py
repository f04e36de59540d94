"""Settings: a misspelt or malformed setting is an error naming it, never silently ignored."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from servers import CLI

from assistant.errors import ConfigError
from assistant.settings import Settings, load_settings


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No ASSISTANT_* variable from the caller's shell; the working directory without an assistant.toml."""
    for name in [n for n in os.environ if n.upper().startswith("ASSISTANT_")]:
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
def test_the_settings_file_named_must_be_there_and_an_empty_name_reads_none(clean_env, monkeypatch):
    (clean_env / "assistant.toml").write_text("top_k = 7\n")
    assert load_settings().top_k == 7  # the working directory's, unnamed
    for typo, why in ((clean_env / "assistant.tom", "no such file"), (clean_env, "is a folder")):
        monkeypatch.setenv("ASSISTANT_CONFIG", str(typo))  # every setting at its default, keys included, unsaid
        with pytest.raises(ConfigError, match=f"ASSISTANT_CONFIG: {re.escape(str(typo))}: {why} "):
            load_settings()
    for none in ("", os.devnull):
        monkeypatch.setenv("ASSISTANT_CONFIG", none)
        assert load_settings().top_k == Settings.model_fields["top_k"].default
    monkeypatch.setenv("HOME", str(clean_env))
    monkeypatch.setenv("ASSISTANT_CONFIG", "~/assistant.toml")  # as systemd, Docker and .env files pass it
    assert load_settings().top_k == 7
    monkeypatch.setenv("ASSISTANT_LOG_LEVEL", "WARNING")  # as logging spells it
    assert load_settings().log_level == "warning"


@pytest.mark.fast
def test_a_misspelt_variable_is_named(clean_env, monkeypatch):
    monkeypatch.setenv("ASSISTANT_TOPK", "3")
    with pytest.raises(ConfigError, match=r"ASSISTANT_TOPK: no such setting \(did you mean 'top_k'\?\)"):
        load_settings()
    monkeypatch.delenv("ASSISTANT_TOPK")
    for name in ("ASSISTANT_EVAL_CACHE_DIR", "ASSISTANT_BENCH_KEY", "ASSISTANT_TOP_K"):  # not settings, but known
        monkeypatch.setenv(name, "3")
    assert load_settings().top_k == 3


@pytest.mark.fast
def test_settings_that_cannot_work_are_named_at_start_up(clean_env, monkeypatch):
    """Each was accepted, then failed later: a division by zero at ingest, a traceback, a 500 on every request, an
    index in the working directory."""
    for given, message in [
        ({"chunk_tokens": 32, "chunk_overlap_tokens": 32}, "chunk_overlap_tokens (32) must be less than chunk_tokens"),
        ({"database_url": "nonsense"}, "database_url: is not a database URL"),
        ({"public_url": "not a url"}, "public_url: 'not a url' must be an origin"),
        ({"public_url": "https://assistant.example/chat"}, "public_url: "),
        ({"index_dir": ""}, "index_dir: is empty"),
        ({"keys_file": " "}, "keys_file: is empty"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_settings(**given)
    assert load_settings(public_url="https://assistant.example/").public_url == "https://assistant.example/"
    from assistant.web.limits import RateLimits  # limits knows its schemes (redis, valkey, …): it says which not

    with pytest.raises(ConfigError, match="redis_url: cannot use it: .*nonsense"):
        RateLimits(load_settings(redis_url="nonsense"))
    for name in ("REDIS_URL", "PUBLIC_URL", "DATABASE_URL"):  # empty, as a compose file's ${VAR:-} gives: unset
        monkeypatch.setenv(f"ASSISTANT_{name}", "")
    unset = load_settings()
    assert unset.redis_url is None and unset.public_url is None and unset.database_url is None
    for name in ("REDIS_URL", "PUBLIC_URL", "DATABASE_URL"):
        monkeypatch.delenv(f"ASSISTANT_{name}")
    monkeypatch.setenv("assistant_topk", "3")  # read in any case, so checked in any case
    with pytest.raises(ConfigError, match=r"assistant_topk: no such setting \(did you mean 'top_k'\?\)"):
        load_settings()


def test_the_cli_says_it_in_one_line(clean_env):
    (clean_env / "assistant.toml").write_text("top_k = [unclosed\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    done = subprocess.run([str(CLI), "list"], cwd=clean_env, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("error: assistant.toml: not valid TOML")
    (clean_env / "assistant.toml").unlink()
    # a database URL of a dialect whose driver is not installed: said when the database is opened
    mysql = subprocess.run([str(CLI), "list"], cwd=clean_env, capture_output=True, text=True, timeout=120,
                           env={**env, "ASSISTANT_DATABASE_URL": "mysql://reader@db.invalid/articles"})
    assert mysql.returncode == 1 and "Traceback" not in mysql.stderr, mysql.stderr
    assert "error: database_url: cannot use mysql://reader@db.invalid/articles: ModuleNotFoundError" in mysql.stderr


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


def test_a_redis_url_that_cannot_be_used_is_named_without_its_password(clean_env):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")},
           "ASSISTANT_INDEX_DIR": str(clean_env / "index"), "ASSISTANT_REDIS_URL": "rediss+bad://:REDISPW@h/0"}
    done = subprocess.run([str(CLI), "serve", "--port", "7999"], cwd=clean_env, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "error: redis_url: cannot use it: ConfigurationError: unknown storage scheme : rediss+bad://:***@h/0" \
        in done.stderr and "REDISPW" not in done.stdout + done.stderr
    from assistant.web.limits import redact  # a Sentinel URL (several hosts), a password in the query

    assert redact("redis+sentinel://:pw@h1:26379,h2:26379/main") == "redis+sentinel://:***@h1:26379,h2:26379/main"
    assert redact("redis://h:6379/0?password=pw&db=1") == "redis://h:6379/0?password=***&db=1"


def test_a_printed_configuration_shows_no_password_of_a_server_url():
    settings = load_settings(database_url="postgresql+psycopg://app:DB-PW-1@127.0.0.1/db",
                             redis_url="redis://:REDIS-PW-2@127.0.0.1:6379/0", chroma_url="http://u:CHROMA-PW-3@127.0.0.1:8000")
    shown = repr(settings) + str(settings)
    assert not any(secret in shown for secret in ("DB-PW-1", "REDIS-PW-2", "CHROMA-PW-3"))
    assert settings.database_url.endswith("DB-PW-1@127.0.0.1/db")  # the value itself is whole
