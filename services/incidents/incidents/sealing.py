"""Sealing reporters' personal data at rest (AES-256-GCM, key from the environment).

REPORTER_KEYS="k2:<base64 32 bytes>,k1:<old key>": the first key seals, every
listed key can open, so keys rotate without re-encrypting at once. A sealed
value is `key id` + ":" + 12-byte nonce + ciphertext. Without the key the
database holds nothing readable.
"""
from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# Development only: production refuses to start with it (see check_keys).
DEV_KEYS = "dev:" + base64.b64encode(b"envgrid-development-only-key!!!!"[:32]).decode()


class SealingError(RuntimeError):
    pass


def _keys(spec: str | None = None) -> list[tuple[str, bytes]]:
    spec = spec or os.environ.get("REPORTER_KEYS") or DEV_KEYS
    keys = []
    for part in spec.split(","):
        key_id, _, encoded = part.strip().partition(":")
        raw = base64.b64decode(encoded)
        if not key_id or len(raw) != 32:
            raise SealingError("REPORTER_KEYS entries must be id:<base64 of 32 bytes>")
        keys.append((key_id, raw))
    return keys


def check_keys(production: bool) -> None:
    if production and (os.environ.get("REPORTER_KEYS") or DEV_KEYS) == DEV_KEYS:
        raise SealingError("refusing to start in production with the development REPORTER_KEYS")
    _keys()


def seal(text: str | None) -> bytes | None:
    if text is None:
        return None
    key_id, key = _keys()[0]
    nonce = os.urandom(12)
    return key_id.encode() + b":" + nonce + AESGCM(key).encrypt(nonce, text.encode("utf-8"), key_id.encode())


def unseal(blob: bytes | None) -> str | None:
    if blob is None:
        return None
    key_id, _, rest = bytes(blob).partition(b":")
    for known_id, key in _keys():
        if known_id.encode() == key_id:
            return AESGCM(key).decrypt(rest[:12], rest[12:], key_id).decode("utf-8")
    raise SealingError(f"no key {key_id.decode(errors='replace')!r} to open this value")


def pseudonym(phone: str | None) -> str | None:
    """A stable, irreversible key for a reporter (HMAC-SHA256 of the phone's digits with a secret).

    Lets rewards count awards per reporter and year without ever holding who it is.
    The secret is derived from the current sealing key: without it, no phone number can
    be tested against a pseudonym.
    """
    if not phone:
        return None
    import hashlib
    import hmac
    digits = "".join(ch for ch in phone if ch.isdigit())
    _, key = _keys()[0]
    return hmac.new(key, b"reporter-pseudonym:" + digits.encode(), hashlib.sha256).hexdigest()
