"""Rate limits shared by every surface, kept by the `limits` library (a moving window per bucket).

Buckets are per key *and* client address, so one client cannot use up a widget
key that many sites share. Refused keys have a bucket of their own per client
address, so guessing keys is slow and shows up in the log. The client address
is the TCP peer, or the address a trusted proxy forwarded (uvicorn's proxy
headers, enabled only for ``trusted_proxies``).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from ..settings import Settings


class RateLimits:
    def __init__(self, settings: Settings, storage: Storage | None = None):
        self._limiter = MovingWindowRateLimiter(storage or MemoryStorage())
        self._requests = RateLimitItemPerMinute(settings.api_rate_per_minute)
        self._failures = RateLimitItemPerMinute(settings.failed_auth_per_minute)

    def request(self, bucket: str, client: str) -> int:
        """Count one request of ``bucket`` (a key's fingerprint, or a page) from ``client``:
        0 if allowed, else the whole seconds to wait."""
        return self._take(self._requests, bucket, client)

    def failure(self, client: str) -> int:
        """Count one refused key from ``client``: 0 while under the limit, else the seconds to wait."""
        return self._take(self._failures, "refused-key", client)

    def failures_exhausted(self, client: str) -> int:
        """Seconds until ``client`` may present keys again (0: it may now), counting nothing."""
        if self._limiter.test(self._failures, "refused-key", client):
            return 0
        return self._wait(self._failures, "refused-key", client)

    def _take(self, item, *who: str) -> int:
        if self._limiter.hit(item, *who):
            return 0
        return self._wait(item, *who)

    def _wait(self, item, *who: str) -> int:
        reset = self._limiter.get_window_stats(item, *who).reset_time
        return max(1, math.ceil(reset - time.time()))
