"""The hash chain of a case's history: every entry seals the one before it.

An entry's hash is SHA-256 over its canonical JSON (sorted keys, UTF-8) with the
previous entry's hash inside, so changing, removing or reordering any entry in
the database breaks every hash after it. Plain data in, plain data out.
"""
from __future__ import annotations

import hashlib
import json

GENESIS = "0" * 64
FIELDS = ("case_id", "seq", "action", "from_state", "to_state", "actor", "role", "grid_code", "at", "note",
          "evidence", "details")


def entry_hash(entry: dict, previous_hash: str) -> str:
    body = {field: entry.get(field) for field in FIELDS} | {"previous_hash": previous_hash}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def verify(entries: list[dict]) -> tuple[bool, int | None]:
    """(intact, seq of the first broken entry). Entries in seq order, each with previous_hash and hash."""
    previous = GENESIS
    for expected_seq, entry in enumerate(entries, start=1):
        if entry["seq"] != expected_seq or entry["previous_hash"] != previous \
                or entry_hash(entry, previous) != entry["hash"]:
            return False, entry["seq"]
        previous = entry["hash"]
    return True, None
