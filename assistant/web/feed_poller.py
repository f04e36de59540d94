"""The server's feed poller: a thread that, every ``feed_poll_s``, polls the feeds whose time has come.

It starts with the app and stops with it (the app's lifespan). With replicas, each runs one; a feed is polled
by whichever takes its lease first (assistant/index/feed_table.py), so exactly one replica polls it at a time.
"""

from __future__ import annotations

import logging
import threading
import time

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
        # Looks that fail in a row (the database is down, say) are tried again at the next look: the first is logged
        # with its traceback, then one line a minute at most (as the index watcher does), and the end of it once.
        failures, last_logged = 0, 0.0
        while not self._stop.wait(self.assistant.settings.feed_poll_s):
            try:
                for feed in self.assistant.poll_due_feeds():
                    log.info("polled feed %s: %s", feed.url, feed.last_error or feed.last_report)
            except Exception as exc:
                failures += 1
                if failures == 1:
                    log.exception("looking for feeds to poll failed")
                    last_logged = time.monotonic()
                elif time.monotonic() - last_logged > 60:
                    log.warning("looking for feeds to poll still fails (%d tries): %s", failures, exc)
                    last_logged = time.monotonic()
                continue
            if failures:
                log.warning("looking for feeds to poll works again, after %d failed tries", failures)
                failures = 0
