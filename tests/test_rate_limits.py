"""The rate limiter's own windows (a server without Redis): what it keeps per client must not outlive them."""

from __future__ import annotations

import time

import pytest
from limits import RateLimitItemPerSecond
from limits.strategies import MovingWindowRateLimiter

from assistant.web.limits import SweptMemoryStorage


@pytest.mark.fast
def test_a_client_whose_window_expired_leaves_nothing_behind():
    storage = SweptMemoryStorage()
    limiter, item = MovingWindowRateLimiter(storage), RateLimitItemPerSecond(2)
    for client in range(2_000):  # 2,000 addresses, each seen once
        assert limiter.hit(item, "key-fingerprint", f"203.0.113.{client}")
    assert limiter.hit(item, "key-fingerprint", "203.0.113.7") and not limiter.hit(item, "key-fingerprint",
                                                                                    "203.0.113.7")  # still limits
    time.sleep(1.2)
    assert limiter.hit(item, "key-fingerprint", "198.51.100.1")  # a hit runs the expiry pass
    deadline = time.monotonic() + 5
    while len(storage.events) > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(storage.events) == ["LIMITER/key-fingerprint/198.51.100.1/2/1/second"]
