"""One process at a time opens an on-disk index: a server, or a command.

Chroma's on-disk store keeps its vector index in memory per process, so two
processes writing one folder would each miss (or overwrite) the other's
changes. Every `assistant` command therefore claims the index folder first
(``owner.lock``, an OS lock that dies with its process, so a killed process
never leaves the index claimed) and records who it is in ``owner.json``:

- a second ``serve``, or ``serve`` while a command runs, is refused at once
  with a message naming the holder;
- a command while a server runs is refused too, and told to use the server's
  API (the server can ingest, list, remove and answer);
- a command while another command runs waits its turn (two ingests are
  serialised), up to ``timeout`` seconds.

With a store shared between processes (a Chroma server, ``chroma_url``) the store is shared safely, so several
processes may use one index and nothing is claimed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import IndexBusy, StoreError
from ..folders import make_private
from ..registry import STORES
from ..settings import Settings

OWNER_FILE = "owner.json"


def describe(owner: dict) -> str:
    who = f"`assistant {owner.get('command', '?')}` (pid {owner.get('pid', '?')})"
    return f"{who} serving {owner['url']}" if owner.get("url") else who


def read_owner(index_dir: Path) -> dict:
    try:
        return json.loads((index_dir / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return {}


@contextmanager
def claim(
    settings: Settings,
    command: str,
    *,
    url: str | None = None,
    timeout: float = 600,
    on_wait: Callable[[dict], None] | None = None,
) -> Iterator[None]:
    if STORES.get(settings.store).shared_between_processes(settings):
        yield
        return
    root = Path(settings.index_dir).resolve()  # messages name the folder in full
    lock = FileLock(str(root / "owner.lock"), is_singleton=False)
    try:
        make_private(root)
        lock.acquire(timeout=0)
    except Timeout:  # (a TimeoutError, so an OSError: before the clause below)
        owner = read_owner(root)
        # Long-running holders (a server, an MCP session) do not end soon: refuse at once rather than wait.
        if command in LONG_RUNNING or owner.get("command") in LONG_RUNNING:
            raise IndexBusy(_refusal(root, command, owner)) from None
        if on_wait:
            on_wait(owner)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise IndexBusy(f"the index at {root} is still in use by {describe(owner)} after {timeout:.0f} s") from None
    except OSError as exc:  # a read-only file system, a folder of another user: the index cannot be used here
        raise StoreError(f"the index folder {root} cannot be used: {exc.strerror or exc} (it holds its lock and "
                         "its store, so it must be writable)") from None
    me = {"pid": os.getpid(), "command": command, "url": url, "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    try:
        (root / OWNER_FILE).write_text(json.dumps(me))
    except OSError:  # a full disk: the lock still holds; a waiting process only cannot say whose it is
        pass
    try:
        yield
    finally:
        if read_owner(root).get("pid") == os.getpid():
            (root / OWNER_FILE).unlink(missing_ok=True)
        lock.release()


LONG_RUNNING = {"serve", "mcp"}


def _refusal(root: Path, command: str, owner: dict) -> str:
    held = f"the index at {root} is in use by {describe(owner)}"
    if owner.get("command") == "mcp":
        return f"{held}: an MCP client holds it; close that session, or use the server's /mcp instead"
    if owner.get("command") == "serve":
        hint = "use that server (its API can ingest, list and remove; see /docs), or stop it first"
        if command == "serve":
            hint = "open that server, or stop it first (or give this one another ASSISTANT_INDEX_DIR)"
        elif command == "mcp":  # the same tools, over HTTP, from the server that holds the index
            url = owner.get("url")
            hint = (f"point the MCP client at {url.rstrip('/')}/mcp/ (streamable HTTP, with a key)" if url else
                    "point the MCP client at that server's /mcp/ (streamable HTTP, with a key)") + ", or stop it first"
        return f"{held}: {hint}"
    return f"{held}: start the server when it has finished"
