"""Token buckets, the primitive behind every throttle (AWS: capacity = burst limit, refilled at the
rate limit per second, one token per request, an empty bucket answers 429).

Over any interval of t seconds a bucket admits at most `rate * t + burst` requests, and exactly that
many (rounded down) when it starts full and requests keep arriving faster than the rate. Tokens are
fractional and refilled lazily from a monotonic clock when a request arrives, so an idle bucket
costs nothing.

The in-memory state (`state/memory.py`) keeps buckets by key for the life of the process, so
recompiling a stage (a redeploy, a settings change) finds its buckets as they were instead of refilling
them, and takes from several at once with `take_all`: every bucket gives a token or none does.
"""

from __future__ import annotations

from collections.abc import Callable

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

    def reconfigure(self, rate: float, burst: int, now: float) -> None:
        """New limits from `now` on; the tokens earned so far are kept (cut to the new burst)."""
        _check_limits(rate, burst)
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate, burst)
        self.stamp = now
        self.rate = float(rate)
        self.burst = burst


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


def taker(buckets: tuple[TokenBucket, ...], clock: Callable[[], float]) -> Callable[[], bool]:
    """`take_all(buckets, clock())` as one call per request, its arithmetic inlined (the hot path): a
    request pays one frame however many buckets it takes from."""
    if len(buckets) == 2:  # a method's stage bucket and the account's: the commonest pair, unrolled
        first, second = buckets

        def take_two() -> bool:
            now = clock()
            a = first.tokens + (now - first.stamp) * first.rate
            if a > first.burst:
                a = first.burst
            b = second.tokens + (now - second.stamp) * second.rate
            if b > second.burst:
                b = second.burst
            first.stamp = second.stamp = now
            if a >= 1.0 - _EPSILON and b >= 1.0 - _EPSILON:
                first.tokens, second.tokens = a - 1.0, b - 1.0
                return True
            first.tokens, second.tokens = a, b
            return False

        return take_two
    if len(buckets) == 3:  # a usage plan's bucket, the method's and the account's: unrolled as well
        first, second, third = buckets

        def take_three() -> bool:
            now = clock()
            a = first.tokens + (now - first.stamp) * first.rate
            if a > first.burst:
                a = first.burst
            b = second.tokens + (now - second.stamp) * second.rate
            if b > second.burst:
                b = second.burst
            c = third.tokens + (now - third.stamp) * third.rate
            if c > third.burst:
                c = third.burst
            first.stamp = second.stamp = third.stamp = now
            if a >= 1.0 - _EPSILON and b >= 1.0 - _EPSILON and c >= 1.0 - _EPSILON:
                first.tokens, second.tokens, third.tokens = a - 1.0, b - 1.0, c - 1.0
                return True
            first.tokens, second.tokens, third.tokens = a, b, c
            return False

        return take_three
    if len(buckets) != 1:

        def take_several() -> bool:  # more buckets than any check takes today: one frame more is fine
            return take_all(buckets, clock())

        return take_several
    bucket = buckets[0]

    def take_one() -> bool:
        now = clock()
        tokens = bucket.tokens + (now - bucket.stamp) * bucket.rate
        if tokens > bucket.burst:
            tokens = bucket.burst
        bucket.stamp = now
        if tokens >= 1.0 - _EPSILON:
            bucket.tokens = tokens - 1.0
            return True
        bucket.tokens = tokens
        return False

    return take_one


def _check_limits(rate: float, burst: int) -> None:
    if rate < 0 or burst < 0:
        raise ValueError(f"throttling limits cannot be negative (rate {rate}, burst {burst})")
