"""API keys and per-key rate limits.

Keys come from ``TRADELANE_API_KEYS`` (``tenant:key,…``). A presented key is compared with every
configured key by :func:`hmac.compare_digest` (constant time per comparison, and all keys are
always compared), so response timing does not reveal how much of a key was right. Logs name a
key only by a short SHA-256 fingerprint, never the key.

Rate limits are token buckets per key, kept in each server process on purpose, not in the
database: with ``N`` server processes on one database each one counts on its own, so a key may
make up to ``N`` times ``TRADELANE_RATE_PER_S`` (and ``N`` bursts) in all; set the rate to each
server's share. Why not a bucket shared through the database: the limiter is there to turn a
flood away before it costs anything, and a shared bucket would cost a write on the shared
database for every request, every request of one key serialised on its bucket's row lock: the
flood would land on the very resource the servers share. Behind a load balancer a key's
requests spread over the servers, so per-process buckets come to about ``N`` times the per-server
limit. (``tests/api/test_multi_server.py`` checks that each server gives a key its full burst.)
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass

__all__ = ["Principal", "RateLimiter", "authenticate", "fingerprint"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the tenant and the fingerprint of the key used."""

    tenant: str
    key_id: str


def fingerprint(key: str) -> str:
    """A short, non-reversible name for a key (for logs and rate-limit buckets)."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def authenticate(authorization: str | None, keys: dict[str, str]) -> Principal | None:
    """The principal of an ``Authorization: Bearer <key>`` header, or None.

    Parameters
    ----------
    authorization
        The header's value (None if absent).
    keys
        ``{key: tenant}``.
    """
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    presented = token.encode("utf-8", "surrogatepass")
    tenant: str | None = None
    for key, owner in keys.items():
        # No early exit: every key is compared, whatever matched.
        if hmac.compare_digest(presented, key.encode()):
            tenant = owner
    return Principal(tenant, fingerprint(token)) if tenant is not None else None


class RateLimiter:
    """Token buckets: ``rate`` requests per second per key, bursts up to ``burst``.

    Parameters
    ----------
    rate
        Tokens added per second.
    burst
        Bucket size.
    """

    def __init__(self, rate: float, burst: int):
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate={rate!r}, burst={burst!r} not understood.")
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key_id: str) -> float:
        """Take one token; returns 0 if allowed, else the seconds until a token is free."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (1.0 - tokens) / self.rate
