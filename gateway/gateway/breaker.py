"""A circuit breaker per upstream address: a service that keeps refusing is not asked for a while.

After FAILURES consecutive connection failures the circuit opens for OPEN_FOR_S
seconds: requests to that address answer 503 at once instead of each waiting for
a connect timeout. Then one request is let through (half-open); success closes it.
"""
from __future__ import annotations

import threading
import time

FAILURES = 5
OPEN_FOR_S = 10.0


class Breaker:
    def __init__(self, failures: int = FAILURES, open_for_s: float = OPEN_FOR_S):
        self.failures = failures
        self.open_for_s = open_for_s
        self._state: dict[str, tuple[int, float]] = {}  # address -> (consecutive failures, opened at)
        self._lock = threading.Lock()

    def allow(self, address: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            failures, opened = self._state.get(address, (0, 0.0))
            if failures < self.failures:
                return True
            if now - opened >= self.open_for_s:
                self._state[address] = (self.failures - 1, opened)  # half-open: one try
                return True
            return False

    def success(self, address: str) -> None:
        with self._lock:
            self._state.pop(address, None)

    def failure(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            failures, opened = self._state.get(address, (0, 0.0))
            failures += 1
            self._state[address] = (failures, now if failures >= self.failures else opened)
