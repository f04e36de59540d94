"""What a key scoped to collections may reach, for every door (/api, the widget, /v1, MCP, the chat page).

The guard records the key's collections in the request (``scope["state"]["key_scope"]``: a tuple of names, or
None for a key scoped to none, which may use every collection). Each door turns what a request names into
collections with these functions and hands them to the Assistant, which fetches passages from them only (its
``scoped``: the vector partitions and the keyword index's mask, checked against the manifest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InvalidRequest, OutOfScope
from ..models import Filters, collection_name

if TYPE_CHECKING:
    from ..core import Assistant

Scope = tuple[str, ...] | None


def collections_for(assistant: Assistant, scope: Scope, named: str | None, field: str = "collection") -> Scope:
    """The collections a listing, a read or a removal is about: the one ``named`` (allowed by ``scope``: 403; and
    existing: 404), else the scope's collections that exist (None for an unscoped key: every one)."""
    if named is None:  # a collection renamed or removed since the keys file was written is left out
        return None if scope is None else assistant.scoped(None, scope, field=field).collections
    return assistant.scoped(Filters(collections=(collection_name(named, field),)), scope, field=field).collections


def ingest_collection(assistant: Assistant, scope: Scope, named: str | None, field: str = "collection") -> str | None:
    """Where new articles go: the collection ``named`` (allowed and existing); for a key scoped to one collection,
    that one; None for an unscoped key (a new article goes in ``default``, a known one stays where it is)."""
    if named is not None:
        return collections_for(assistant, scope, named, field)[0]
    if scope is None:
        return None
    if len(scope) == 1:
        return collections_for(assistant, scope, scope[0], field)[0]
    raise InvalidRequest(field, f"this key adds to several collections ({', '.join(scope)}); name one")


def unscoped_only(scope: Scope, what: str) -> None:
    """Creating, renaming and removing collections take a key for every collection."""
    if scope is not None:
        raise OutOfScope(f"{what} takes an admin key for every collection; this key is scoped to "
                         f"{', '.join(map(repr, scope))}")
