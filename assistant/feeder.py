"""Feeds the index follows: adding, listing and removing them (part of the core layer, beside core.py).

This needs the manifest's database only, no model and no vectors, so `assistant feeds add|list|remove` run while
a server holds the index; the server picks a new feed up at its next look (``feed_poll_s``). Polling, which
ingests, is :meth:`assistant.core.Assistant.poll_feed`; the server's loop is assistant/web/feed_poller.py.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence

from . import errors
from .index.feed_table import FeedState, FeedTable
from .index.manifest import Manifest
from .models import FeedInfo, collection_name, page_link
from .settings import Settings

# Who holds a feed while polling it: this process, on this host (a replica).
OWNER = f"{socket.gethostname()} pid {os.getpid()} {uuid.uuid4().hex[:8]}"


class Feeds:
    def __init__(self, settings: Settings, manifest: Manifest | None = None):
        self.settings = settings
        self.manifest = manifest or Manifest.from_settings(settings)
        self.table = FeedTable(self.manifest)

    def add(self, url: str, collection: str, every_s: float, *, prune: bool = False) -> FeedInfo:
        """Follow the feed at ``url``: its items go in ``collection`` (it must exist), polled every ``every_s``
        seconds (at least ``feed_min_every_s``), the first time at the server's next look."""
        link = page_link(url, "url")
        collection_id = self.manifest.collection_id(collection_name(collection))
        if every_s < self.settings.feed_min_every_s:
            raise errors.InvalidRequest("every", f"{every_s:g} s is more often than feed_min_every_s "
                                                 f"({self.settings.feed_min_every_s:g} s) allows")
        return self.table.state(self.table.add(link.url, collection_id, every_s, prune)).info

    def list(self, collections: Sequence[str] | None = None) -> list[FeedInfo]:
        """Every feed (``collections``: of those collections only), with what its last poll did."""
        return [s.info for s in self.table.states(self._ids(collections))]

    def state(self, feed: int | str, collections: Sequence[str] | None = None) -> FeedState:
        """A feed by its id or its link (one in ``collections``, when given)."""
        states = self.table.states(self._ids(collections))
        links = {str(feed)}
        try:  # as it was given to `add`, which kept it without its fragment and tracking parameters
            links.add(page_link(str(feed), "feed").url)
        except errors.InvalidRequest:
            pass
        found = [s for s in states if str(s.info.id) == str(feed) or s.info.url in links]
        if not found:
            raise errors.FeedNotFound(feed, f" in {', '.join(collections)}" if collections is not None else "")
        if len(found) > 1:
            raise errors.InvalidRequest("feed", f"{feed!r} goes in several collections; name it by its id "
                                                f"({', '.join(str(s.info.id) for s in found)})")
        return found[0]

    def remove(self, feed: int | str, collections: Sequence[str] | None = None) -> FeedInfo:
        """Stop following a feed (its articles stay)."""
        state = self.state(feed, collections)
        self.table.remove(state.info.id)
        return state.info

    def _ids(self, collections: Sequence[str] | None) -> list[int] | None:
        if collections is None:
            return None
        known = self.manifest.collection_ids()
        return [known[c] for c in collections if c in known]
