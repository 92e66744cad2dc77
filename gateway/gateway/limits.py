"""Rate limits per API key, per user and per client IP (public callers).

A fixed one-minute window per caller, counted in Redis when GATEWAY_REDIS_URL is
set (shared by every gateway replica), in this process's memory otherwise.
Limits (requests per minute): GATEWAY_RATE_KEY (machine clients, default 1200),
GATEWAY_RATE_USER (people, 600), GATEWAY_RATE_PUBLIC (per IP, 60). Logging in has limits
of its own, checked before any password is hashed: GATEWAY_RATE_LOGIN attempts per
username (10: guessing one person's password) and GATEWAY_RATE_LOGIN_IP per client IP (60:
trying many usernames; an office behind one address still logs everyone in).
"""
from __future__ import annotations

import os
import threading
import time


class MemoryCounter:
    def __init__(self):
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window: int) -> int:
        with self._lock:
            if len(self._counts) > 100_000:  # old windows: forget them rather than grow without bound
                self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
            start, count = self._counts.get(key, (window, 0))
            count = count + 1 if start == window else 1
            self._counts[key] = (window, count)
            return count


class RedisCounter:
    def __init__(self, url: str):
        import redis
        self._redis = redis.Redis.from_url(url, socket_timeout=0.2, socket_connect_timeout=0.2)

    def hit(self, key: str, window: int) -> int:
        name = f"envgrid:rate:{key}:{window}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, 120)
        return int(pipe.execute()[0])


class RateLimiter:
    def __init__(self, counter=None, env=None):
        env = os.environ if env is None else env
        url = env.get("GATEWAY_REDIS_URL")
        self.counter = counter or (RedisCounter(url) if url else MemoryCounter())
        self.fallback = MemoryCounter()
        self.limits = {"key": int(env.get("GATEWAY_RATE_KEY", "1200")),
                       "user": int(env.get("GATEWAY_RATE_USER", "600")),
                       "public": int(env.get("GATEWAY_RATE_PUBLIC", "60")),
                       "login": int(env.get("GATEWAY_RATE_LOGIN", "10")),
                       "login_ip": int(env.get("GATEWAY_RATE_LOGIN_IP", "60"))}

    def check(self, kind: str, who: str, now: float | None = None) -> int | None:
        """None when allowed; else the seconds to wait (for Retry-After)."""
        now = time.time() if now is None else now
        window = int(now // 60)
        try:
            count = self.counter.hit(f"{kind}:{who}", window)
        except Exception:  # Redis away: limit per replica rather than not at all, or not answer
            count = self.fallback.hit(f"{kind}:{who}", window)
        if count > self.limits[kind]:
            return max(1, int(60 - now % 60))
        return None
