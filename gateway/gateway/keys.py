"""API keys of machine clients (the city platform, the reward office's systems).

Keys are never stored in clear: the file named by GATEWAY_API_KEYS_FILE holds
their SHA-256 with the identity each one carries:
    {"keys": [{"sha256": "<hex>", "subject": "city-platform", "roles": ["city_platform"], "grids": []}]}
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

from servicekit.identity import ROLES, Identity


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKeys:
    def __init__(self, entries: dict[str, Identity]):
        self._entries = entries

    @classmethod
    def from_file(cls, path: str | os.PathLike | None) -> "ApiKeys":
        if not path or not Path(path).exists():
            return cls({})
        entries = {}
        for item in json.loads(Path(path).read_text(encoding="utf-8"))["keys"]:
            roles = frozenset(item["roles"])
            if not roles <= ROLES:
                raise ValueError(f"API key for {item['subject']} names unknown roles {roles - ROLES}")
            entries[item["sha256"]] = Identity(item["subject"], roles, tuple(item.get("grids", ())),
                                               item.get("name"))
        return cls(entries)

    def lookup(self, presented: str) -> Identity | None:
        digest = key_digest(presented)
        for known, identity in self._entries.items():
            if hmac.compare_digest(known, digest):
                return identity
        return None
