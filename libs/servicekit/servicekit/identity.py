"""The caller's identity, signed by the gateway, verified by every service.

The gateway authenticates a caller (API key or token) and forwards who it is in
`X-EnvGrid-Identity` (base64url JSON) with an HMAC-SHA256 signature over it in
`X-EnvGrid-Signature`, keyed by the shared IDENTITY_SECRET. A service reached
directly, bypassing the gateway, cannot be told a made-up identity. The payload
carries its issue time so a captured header pair stops working after a while.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field

IDENTITY_HEADER = "X-EnvGrid-Identity"
SIGNATURE_HEADER = "X-EnvGrid-Signature"
MAX_AGE_S = 300
CLOCK_SKEW_S = 30

ROLES = frozenset({"public", "grid_staff", "district_ops", "rewards_office", "city_platform", "admin"})


class InvalidIdentity(Exception):
    pass


@dataclass(frozen=True)
class Identity:
    subject: str
    roles: frozenset[str] = field(default_factory=frozenset)
    # Grid codes whose subtrees this caller may act in (grid_staff); empty for district-wide roles.
    grids: tuple[str, ...] = ()
    name: str | None = None

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def district_wide(self) -> bool:
        return self.has_any("district_ops", "admin")

    def covers(self, grid_code: str) -> bool:
        """Whether `grid_code` is inside this caller's scope.

        Grid codes are hierarchical (a child's code extends its parent's), so a
        grid is in the subtree of a scope grid exactly when the scope code is a
        prefix of its code.
        """
        if self.district_wide:
            return True
        return any(grid_code.startswith(scope) for scope in self.grids)

    def to_claims(self) -> dict:
        return {"sub": self.subject, "roles": sorted(self.roles), "grids": list(self.grids),
                "name": self.name}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, payload: str) -> str:
    return hmac.new(secret.encode("utf-8"), payload.encode("ascii"), hashlib.sha256).hexdigest()


def sign(identity: Identity, secret: str, now: float | None = None) -> dict[str, str]:
    claims = identity.to_claims() | {"iat": int(now if now is not None else time.time())}
    payload = _b64(json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    return {IDENTITY_HEADER: payload, SIGNATURE_HEADER: _signature(secret, payload)}


def verify(headers, secret: str, now: float | None = None) -> Identity | None:
    """The identity in `headers`, None when there is none; InvalidIdentity when it is forged or stale."""
    payload = headers.get(IDENTITY_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    if not payload and not signature:
        return None
    if not payload or not signature:
        raise InvalidIdentity("identity and signature must come together")
    try:
        payload.encode("ascii")
    except UnicodeEncodeError:
        raise InvalidIdentity("identity header is not base64url") from None
    if not hmac.compare_digest(_signature(secret, payload), signature):
        raise InvalidIdentity("identity signature does not match")
    try:
        claims = json.loads(_unb64(payload))
    except (ValueError, UnicodeDecodeError):
        raise InvalidIdentity("identity header is not base64url JSON") from None
    now = time.time() if now is None else now
    issued = claims.get("iat")
    if not isinstance(issued, int) or issued > now + CLOCK_SKEW_S or now - issued > MAX_AGE_S:
        raise InvalidIdentity("identity is expired or from the future")
    roles = claims.get("roles") or []
    if not isinstance(claims.get("sub"), str) or not set(roles) <= ROLES:
        raise InvalidIdentity("identity names an unknown role or no subject")
    return Identity(subject=claims["sub"], roles=frozenset(roles),
                    grids=tuple(claims.get("grids") or ()), name=claims.get("name"))
