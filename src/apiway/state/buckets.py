"""Token buckets, the primitive behind every throttle (AWS: capacity = burst limit, refilled at the
rate limit per second, one token per request, an empty bucket answers 429).

Over any interval of t seconds a bucket admits at most `rate * t + burst` requests, and exactly that
many (rounded down) when it starts full and requests keep arriving faster than the rate. Tokens are
fractional and refilled lazily from a monotonic clock when a request arrives, so an idle bucket
costs nothing.

`Buckets` keeps buckets by key for the life of the process, so recompiling a stage (a redeploy, a
settings change) finds its buckets as they were instead of refilling them. Keys are any hashable
value; a caller namespaces its own, e.g. `("stage", api_id, stage_name, "pets/{id}/GET")` or
`("plan", plan_id, key_id)`.

    buckets = Buckets()
    bucket = buckets.bucket(("stage", "a1b2c3", "prod", "pets/GET"), rate=100.0, burst=50)
    now = buckets.clock()  # the injected clock's monotonic()
    if not (bucket.take(now) and buckets.account.take(now)): ...  # see refund() for the second one
"""

from __future__ import annotations

from collections.abc import Hashable

from apiway.core.clock import SYSTEM_CLOCK, Clock

ACCOUNT_RATE = 10000.0  # AWS's default account-level limits per Region
ACCOUNT_BURST = 5000
# Refills are sums of float products: one that should land on a whole token may fall a hair short.
_EPSILON = 1e-9


class TokenBucket:
    """`burst` tokens at most, `rate` tokens added per second; a request takes one."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        _check_limits(rate, burst)
        self.rate = float(rate)
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = now

    def take(self, now: float) -> bool:
        """Take a token at time `now` (the registry's clock); False when the bucket is empty."""
        tokens = self.tokens + (now - self.stamp) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        self.stamp = now
        if tokens >= 1.0 - _EPSILON:
            self.tokens = tokens - 1.0
            return True
        self.tokens = tokens
        return False

    def refund(self) -> None:
        """Give back the token of the last successful take(): a request admitted here but rejected by a
        later bucket is not served, so it must not count against this one."""
        self.tokens += 1.0

    def reconfigure(self, rate: float, burst: int, now: float) -> None:
        """New limits from `now` on; the tokens earned so far are kept (cut to the new burst)."""
        _check_limits(rate, burst)
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate, burst)
        self.stamp = now
        self.rate = float(rate)
        self.burst = burst


class Buckets:
    """Every bucket of the gateway by key, plus the account-level bucket every request passes."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock.monotonic  # seconds; stored bound once, read per request
        self.account = TokenBucket(ACCOUNT_RATE, ACCOUNT_BURST, self.clock())
        self._buckets: dict[Hashable, TokenBucket] = {}

    def set_account_limits(self, rate: float, burst: int) -> None:
        """The account-level limits (AWS: 10,000 requests/s, burst 5,000 unless raised)."""
        self.account.reconfigure(rate, burst, self.clock())

    def bucket(self, key: Hashable, rate: float, burst: int) -> TokenBucket:
        """The bucket for `key`: created full on first use, later reconfigured in place when the limits
        change, never refilled."""
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = TokenBucket(rate, burst, self.clock())
        elif found.rate != rate or found.burst != burst:
            found.reconfigure(rate, burst, self.clock())
        return found


def take_all(buckets: tuple[TokenBucket, ...], now: float) -> bool:
    """A token from every bucket at `now`, or from none. Every refill is settled either way, as a refused
    `TokenBucket.take` settles its own; tokens are taken only when each bucket has one."""
    admitted = True
    for bucket in buckets:
        tokens = bucket.tokens + (now - bucket.stamp) * bucket.rate
        bucket.tokens = tokens if tokens < bucket.burst else bucket.burst
        bucket.stamp = now
        if bucket.tokens < 1.0 - _EPSILON:
            admitted = False
    if admitted:
        for bucket in buckets:
            bucket.tokens -= 1.0
    return admitted


def _check_limits(rate: float, burst: int) -> None:
    if rate < 0 or burst < 0:
        raise ValueError(f"throttling limits cannot be negative (rate {rate}, burst {burst})")
