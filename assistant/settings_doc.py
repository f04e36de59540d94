"""docs/settings.md, generated from the settings themselves (``assistant.settings.Settings``).

    .venv/bin/python -m assistant.settings_doc > docs/settings.md

One table per group of ``settings.py`` (its ``# --- group ---`` comments, read from the source), one row per
setting: its name (the key in ``assistant.toml``), its environment variable, type, default and description.
Secrets never show a value. ``tests/test_docs.py`` checks that docs/settings.md is what :func:`render` gives,
so a setting added, removed or reworded without regenerating the file fails the fast tests.

Imports nothing but the settings module (no model, no server), so it runs in a second.
"""

from __future__ import annotations

import inspect
import re
import sys
import types
import typing
from pathlib import Path

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from .settings import PROJECT_ROOT, Settings

COMMAND = ".venv/bin/python -m assistant.settings_doc > docs/settings.md"
ENV_PREFIX = "ASSISTANT_"
UNSET = "(unset)"

# Settings whose Field declares no description: what they do, in the words the rest of the code uses.
EXTRA_DESCRIPTIONS = {
    "chunk_overlap_tokens": "Tokens each chunk shares with the one before it.",
    "max_question_chars": "Longest question accepted, in characters (after control characters are removed).",
    "prompts_dir": "Folder of the LLM backends' prompt templates (system.txt, answer.txt, passage.txt, "
    "refusal.txt, overview.txt, catalogue.txt); an edited template is used from the next answer on.",
    "openai_base_url": "The `openai` backend's server: any OpenAI-compatible chat-completions API.",
    "openai_model": "The model the `openai` backend asks for.",
    "openai_api_key": "The key the `openai` backend sends to its server (unset: `not-needed`, for a local server).",
    "host": "Interface `assistant serve` listens on (`--host`). Beyond 127.0.0.1 it needs an admin key, "
    "or page_uploads = off.",
    "port": "Port `assistant serve` listens on (`--port`).",
    "log_level": "The server's log level.",
}

_GROUP = re.compile(r"^\s*#\s*---\s*(?P<name>.*?)\s*-*\s*$")
_FIELD = re.compile(r"^    (?P<name>[A-Za-z_]\w*)\s*:")


def groups() -> list[tuple[str, list[str]]]:
    """(group title, setting names) in the order of settings.py; one untitled group if the source is unreadable."""
    names = list(Settings.model_fields)
    try:
        source = inspect.getsource(Settings)
    except (OSError, TypeError):
        return [("Settings", names)]
    found: list[tuple[str, list[str]]] = []
    placed: set[str] = set()
    for line in source.splitlines():
        group = _GROUP.match(line)
        if group:
            found.append((group["name"][:1].upper() + group["name"][1:], []))
            continue
        field = _FIELD.match(line)
        if field and field["name"] in Settings.model_fields and field["name"] not in placed:
            if not found:
                found.append(("General", []))
            found[-1][1].append(field["name"])
            placed.add(field["name"])
    rest = [name for name in names if name not in placed]
    if rest:
        found.append(("Other", rest))
    return [(title, members) for title, members in found if members]


def type_name(annotation: object) -> str:
    """A type as a reader of the docs says it: `path`, `int`, one of `a`, `b`, ..."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{value}`" for value in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        parts = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(type_name(a) for a in parts) + ", optional"
    return {
        Path: "path",
        SecretStr: "secret",
        str: "text",
        int: "int",
        float: "number",
        bool: "true / false",
    }.get(annotation, getattr(annotation, "__name__", str(annotation)))


def default_text(field: FieldInfo) -> str:
    default = field.default
    if default is None or isinstance(default, SecretStr) or default == "":
        return UNSET
    if isinstance(default, Path):
        if default.is_absolute():
            try:
                return f"`{default.relative_to(PROJECT_ROOT).as_posix()}` (in the project)"
            except ValueError:
                return f"`{default.as_posix()}`"
        return f"`{default.as_posix()}`"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, int) and default >= 2**20 and default % 2**20 == 0:
        return f"`{default}` ({default // 2**20} MiB)"
    if isinstance(default, int) and default >= 2**10 and default % 2**10 == 0:
        return f"`{default}` ({default // 2**10} KiB)"
    return f"`{default}`"


def bounds(field: FieldInfo) -> str:
    """The allowed range, from the Field's ge/gt/le/lt constraints ("" when it has none)."""
    low = high = ""
    for item in field.metadata:
        for attr, sign in (("ge", "≥"), ("gt", ">")):
            if getattr(item, attr, None) is not None:
                low = f"{sign} {getattr(item, attr)}"
        for attr, sign in (("le", "≤"), ("lt", "<")):
            if getattr(item, attr, None) is not None:
                high = f"{sign} {getattr(item, attr)}"
    said = ", ".join(part for part in (low, high) if part)
    return f" Allowed: {said}." if said else ""


def description(name: str, field: FieldInfo) -> str:
    text = (field.description or EXTRA_DESCRIPTIONS.get(name, "")).strip()
    if text and not text.endswith((".", ")")):
        text += "."
    return text + bounds(field)


def cell(text: str) -> str:
    """Text that stays inside one cell of a Markdown table."""
    return " ".join(text.replace("|", "\\|").split())


def render() -> str:
    lines = [
        "# Settings",
        "",
        f"<!-- Generated from assistant/settings.py by `{COMMAND}`; do not edit by hand. -->",
        "",
        f"*This file is generated from `assistant/settings.py`: after changing a setting, run `{COMMAND}`.*",
        "",
        "Every setting comes, highest precedence first, from an explicit argument (`assistant serve --port`, "
        "`Assistant(load_settings(top_k=8))`), its `ASSISTANT_*` environment variable, or the TOML file named by "
        "`ASSISTANT_CONFIG` (default: `assistant.toml` in the working directory, if present), where the key is "
        "the setting's name:",
        "",
        "```toml",
        "# assistant.toml",
        'index_dir = "/data/assistant-index"',
        "top_k = 6",
        "```",
        "",
        "A comma-separated setting (keys, origins, hosts, proxies) is one string. A value the settings do not "
        "accept (an unknown backend, a number out of range) stops a command that reads the settings at start-up "
        "with a message naming the setting (`assistant backends`, which lists what is installed, reads none). Secrets (keys, the session secret, the OpenAI key, server URLs that may hold a password) never show in a printed or logged configuration.",
        "",
    ]
    for title, names in groups():
        lines += [f"## {title}", "", "| setting | environment variable | type | default | description |",
                  "|---|---|---|---|---|"]
        for name in names:
            field = Settings.model_fields[name]
            row = [f"`{name}`", f"`{ENV_PREFIX}{name.upper()}`", type_name(field.annotation), default_text(field),
                   description(name, field)]
            lines.append("| " + " | ".join(cell(part) for part in row) + " |")
        lines.append("")
    lines += [
        "## Outside these settings",
        "",
        "| environment variable | what it does |",
        "|---|---|",
        "| `ASSISTANT_CONFIG` | the TOML settings file (default `assistant.toml` in the working directory, if there is "
        "one); a path that is no file is an error; empty or `/dev/null`: no settings file |",
        "| `ASSISTANT_EVAL_CACHE_DIR` | where `assistant eval` keeps its corpus indexes (default "
        "`~/.cache/article-assistant/eval`; also `--cache-dir`) |",
        "| `XDG_CACHE_HOME` | moves `~/.cache`, where the ONNX files of the embedder and the reader are built "
        "once per machine (`article-assistant/onnx/`) and the eval's corpus indexes live |",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
