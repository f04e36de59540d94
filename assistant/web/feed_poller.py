"""The server's feed poller: a thread that, every ``feed_poll_s``, polls the feeds whose time has come.

It starts with the app and stops with it (the app's lifespan). With replicas, each runs one; a feed is polled
by whichever takes its lease first (assistant/index/feed_table.py), so exactly one replica polls it at a time.
"""

from __future__ import annotations

import logging
import threading

from ..core import Assistant

log = logging.getLogger("assistant.feeds")


class FeedPoller:
    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="assistant-feeds", daemon=True)
            self._thread.start()

    def stop(self, wait_s: float = 5.0) -> None:
        """Stop looking for due feeds; a poll under way finishes its batch (a killed one leaves whole articles)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=wait_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.assistant.settings.feed_poll_s):
            try:
                for feed in self.assistant.poll_due_feeds():
                    log.info("polled feed %s: %s", feed.url, feed.last_error or feed.last_report)
            except Exception:  # the database is down, say: try again at the next look
                log.exception("looking for feeds to poll failed")
