"""The package's public face: what ``import assistant`` offers, the plugin registry, the error tree."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import assistant
from assistant import errors
from assistant.registry import BACKENDS, EMBEDDERS, STORES
from assistant.settings import load_settings

pytestmark = pytest.mark.fast
PACKAGE = Path(assistant.__file__).parent


PUBLIC = [
    "Answer", "AnswerBackend", "AnswerNotFound", "Article", "ArticleInfo", "ArticleNotFound", "Assistant",
    "AssistantError", "BackendError", "Chunk", "Citation", "CollectionConflict", "CollectionInfo", "CollectionNotFound", "ConfigError",
    "ConversationNotFound", "DiskFull",
    "Embedder", "EmbedderMismatch", "EmptyDocument", "FeedNotFound", "FetchError", "FileTooLarge", "Filters", "IndexBusy",
    "IngestError", "IngestReport", "InvalidRequest", "JobNotFound", "LLMUnavailable", "Link", "OutOfScope", "OverBudget",
    "Passage", "Settings", "SourceNotFound", "StoreError", "Turn", "UndecodableFile", "UnsupportedFileType", "UnsupportedMediaType",
    "VectorHit", "VectorStore", "load_settings", "parse_link",
]


def test_the_public_names_are_pinned():
    """As encode/httpx's test_exported_members: a name added or removed is a decision, made here."""
    assert assistant.__all__ == PUBLIC
    for name in PUBLIC:  # each resolves, to the object its own module defines
        value = getattr(assistant, name)
        assert getattr(value, "__module__", "").startswith("assistant."), name
        assert name in dir(assistant)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        assistant.Nope  # noqa: B018


def test_every_error_of_the_tree_is_public():
    tree = {name for name, value in vars(errors).items() if isinstance(value, type) and issubclass(value, errors.AssistantError)}
    assert tree <= set(assistant.__all__)


def test_importing_the_package_or_a_base_module_loads_no_model_or_store():
    code = "import sys, assistant, assistant.text, assistant.models; print(sorted({'chromadb', 'onnxruntime', 'torch', 'gradio'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def test_settings_choices_come_from_the_registry():
    assert BACKENDS.names() == ["extractive", "local", "openai"]
    assert EMBEDDERS.names() == ["onnx", "onnx-int8", "torch"]
    assert STORES.names() == ["chroma"]
    with pytest.raises(errors.ConfigError, match="unknown embedder 'onnx-fp16'; choose one of onnx, onnx-int8, torch"):
        load_settings(embedder="onnx-fp16")
    with pytest.raises(errors.ConfigError, match="unknown vector store"):
        load_settings(store="faiss")


def test_a_backend_registered_in_process_is_a_setting_like_the_packaged_ones():
    from assistant.answer import AnswerBackend, register

    @register("echo-test")
    class Echo(AnswerBackend):
        def answer(self, question, passages):
            raise NotImplementedError

    assert "echo-test" in BACKENDS.names() and BACKENDS.get("echo-test") is Echo
    assert load_settings(backend="echo-test").backend == "echo-test"


def test_every_error_the_package_raises_is_in_the_tree():
    """The tree at the top of errors.py names every AssistantError, and nothing raises outside it."""
    tree_text = errors.__doc__
    declared = {name for name, value in vars(errors).items() if isinstance(value, type) and issubclass(value, Exception)}
    assert {name for name in declared if name not in tree_text} == set()
    # besides the tree: the guard's and the CLI's own, pydantic's validators, MCP's tool errors (mcp_server.py),
    # Gradio's gr.Error (the chat page's message to its reader: web/chat.py), and TypeError for a caller's
    # programming mistake (a bare string where only a parsed Link may go: core, fetch), and KeyboardInterrupt for a
    # SIGTERM taken as Ctrl-C (eval/command.py)
    allowed = declared | {"GateFailed", "BodyTooLarge", "BodyTooSlow", "BodyCutOff", "HTTPException", "AttributeError", "Exit", "ValueError",
                          "ToolError", "TypeError", "Error", "KeyboardInterrupt"}
    raised = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and node.exc is not None:
                target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", None)
                if name and name[0].isupper():
                    raised.add((name, path.relative_to(PACKAGE).as_posix()))
    assert {(name, where) for name, where in raised if name not in allowed} == set()
    assert "GateFailed" in tree_text and "BodyTooLarge" not in declared  # the guard's own, a Starlette HTTPException
