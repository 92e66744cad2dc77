"""Where each service listens: `UPSTREAM_<SERVICE>_URL`, several comma-separated for round robin."""
from __future__ import annotations

import itertools
import os
import threading

from .routing import SERVICES

DEFAULT_PORTS = {"grid-registry": 8001, "incidents": 8002, "dispatch": 8003, "assessment": 8004, "rewards": 8005}


class Upstreams:
    def __init__(self, addresses: dict[str, list[str]]):
        self.addresses = addresses
        self._cycles = {service: itertools.cycle(urls) for service, urls in addresses.items()}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, env=None) -> "Upstreams":
        env = os.environ if env is None else env
        addresses = {}
        for service in SERVICES:
            raw = env.get(f"UPSTREAM_{service.upper().replace('-', '_')}_URL")
            urls = [u.strip().rstrip("/") for u in raw.split(",") if u.strip()] if raw else \
                [f"http://127.0.0.1:{DEFAULT_PORTS[service]}"]
            addresses[service] = urls
        return cls(addresses)

    def next(self, service: str) -> str:
        with self._lock:
            return next(self._cycles[service])
