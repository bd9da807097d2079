"""Flood control: a token bucket per user, so one sender cannot slow down the others."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    warned: bool = False


class FloodGuard:
    """`allow(key)` is False once a user exceeds `burst` messages plus `rate` per second."""

    def __init__(self, rate: float, burst: int,
                 monotonic: Callable[[], float] = time.monotonic, max_users: int = 50_000) -> None:
        self.rate = rate
        self.burst = burst
        self.monotonic = monotonic
        self.max_users = max_users
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, key: str) -> tuple[bool, bool]:
        """Return (allowed, warn): warn is True once per flood, to tell the user politely."""
        now = self.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_users:
                self._buckets.clear()  # bounded memory; a reset only forgives
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return True, False
        warn = not bucket.warned
        bucket.warned = True
        return False, warn
