"""Rate limits shared by every surface, kept by the `limits` library (a moving window per bucket).

Buckets are per client address: an admin key's requests count in a bucket of
that key, and visitors' (every widget key and the chat page) in one bucket of
visitors, so one client cannot use up a widget key that many sites share. Refused keys have a bucket of their own per client
address, so guessing keys is slow and shows up in the log. The client address
is the TCP peer, or the address a trusted proxy forwarded (uvicorn's proxy
headers, enabled only for ``trusted_proxies``).

With ``redis_url`` the windows live in Redis, so every replica counts against
the same limit; otherwise each process keeps its own. While Redis cannot be
reached, each process falls back to its own windows (logged): answering goes on,
still limited, rather than every request failing with the limiter.
"""

from __future__ import annotations

import logging
import math
import time
from urllib.parse import urlsplit

from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ..database import QUERY_PASSWORD
from ..errors import ConfigError
from ..settings import Settings

log = logging.getLogger("assistant.web")

# A limiter that waits on an unreachable Redis would hold every request: give up fast and fall back.
REDIS_TIMEOUT_S = 0.5
FALLBACK_LOG_EVERY_S = 60


def shared_storage(settings: Settings) -> Storage | None:
    """Redis-backed windows when ``redis_url`` is set (shared by every replica), else None."""
    if not settings.redis_url:
        return None
    try:
        return storage_from_string(
            settings.redis_url, wrap_exceptions=True, key_prefix="assistant-limits",
            socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S,
        )
    except Exception as exc:  # a scheme limits does not know, its Redis client not installed
        # limits' message quotes the URL, password and all: it is shown redacted, or left out if still there
        url, shown = settings.redis_url, redact(settings.redis_url)
        said = str(exc).replace(url, shown)
        password = _password(url)
        said = said if password is None or password not in said else "(its message quotes the password)"
        raise ConfigError(f"redis_url: cannot use it: {type(exc).__name__}: {said}") from None


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password or None
    except ValueError:
        return None


def redact(url: str) -> str:
    """A Redis URL without its password (``:password@``, or ``?password=``), for messages. Not SQLAlchemy's
    parser (database.redact), which cannot read a Sentinel URL's list of hosts."""
    try:
        parts = urlsplit(url)
        user, at, hosts = parts.netloc.rpartition("@")
        if at and ":" in user:
            url = parts._replace(netloc=f"{user.partition(':')[0]}:***@{hosts}").geturl()
        return QUERY_PASSWORD.sub(r"\1***", url)
    except ValueError:
        return "(unparseable URL)"


class SweptMemoryStorage(MemoryStorage):
    """limits' MemoryStorage empties a window whose events expired but keeps its key for ever: one per client
    address ever seen (about 175 bytes each, for the life of the process). Its expiry pass, which runs after
    every hit, drops the emptied keys too."""

    def _MemoryStorage__expire_events(self) -> None:  # the base class's private pass, by its mangled name
        super()._MemoryStorage__expire_events()  # type: ignore[misc]
        for key in [key for key, events in list(self.events.items()) if not events]:
            with self.locks[key]:
                if not self.events.get(key):
                    self.events.pop(key, None)
            self.locks.pop(key, None)


class RateLimits:
    def __init__(self, settings: Settings, storage: Storage | None = None):
        storage = storage or shared_storage(settings)
        self._local = MovingWindowRateLimiter(SweptMemoryStorage())
        self._shared = MovingWindowRateLimiter(storage) if storage is not None else None
        self._fallback_logged = 0.0
        self._requests = RateLimitItemPerMinute(settings.api_rate_per_minute)
        self._failures = RateLimitItemPerMinute(settings.failed_auth_per_minute)

    def request(self, bucket: str, client: str) -> int:
        """Count one request of ``bucket`` (an admin key's fingerprint, or ``VISITORS``) from ``client``:
        0 if allowed, else the whole seconds to wait."""
        return self._take(self._requests, bucket, client)

    def failure(self, client: str) -> int:
        """Count one refused key from ``client``: 0 while under the limit, else the seconds to wait."""
        return self._take(self._failures, "refused-key", client)

    def failures_exhausted(self, client: str) -> int:
        """Seconds until ``client`` may present keys again (0: it may now), counting nothing."""

        def exhausted(limiter: MovingWindowRateLimiter) -> int:
            if limiter.test(self._failures, "refused-key", client):
                return 0
            return self._wait(limiter, self._failures, "refused-key", client)

        return self._counted(exhausted)

    def _take(self, item, *who: str) -> int:
        def take(limiter: MovingWindowRateLimiter) -> int:
            return 0 if limiter.hit(item, *who) else self._wait(limiter, item, *who)

        return self._counted(take)

    def _counted(self, count) -> int:
        """``count`` on the shared windows; on this process's own while they cannot be reached."""
        if self._shared is not None:
            try:
                return count(self._shared)
            except StorageError as exc:
                self._note_fallback(exc)
        return count(self._local)

    @staticmethod
    def _wait(limiter: MovingWindowRateLimiter, item, *who: str) -> int:
        reset = limiter.get_window_stats(item, *who).reset_time
        return max(1, math.ceil(reset - time.time()))

    def _note_fallback(self, exc: Exception) -> None:
        if time.monotonic() - self._fallback_logged > FALLBACK_LOG_EVERY_S:
            self._fallback_logged = time.monotonic()
            log.warning("rate limits: Redis unreachable (%s); counting in this process until it is back", exc)
