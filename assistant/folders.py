"""Folders the assistant creates for its own data (the index, its databases) are for its user alone."""

from __future__ import annotations

from pathlib import Path


def make_private(folder: Path) -> None:
    """``mkdir -p folder``, each folder it creates with mode 0700: the index folder holds visitors' questions and
    feedback (conversations.sqlite3), which a umask of 022 would leave readable by every local user. A folder that
    exists is left as it is: its mode is its operator's choice."""
    folder = Path(folder)
    if folder.is_dir():
        return
    if not folder.parent.exists():
        make_private(folder.parent)
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:  # made by another process meanwhile, or a file (which the caller's next step reports)
        if not folder.is_dir():
            raise
