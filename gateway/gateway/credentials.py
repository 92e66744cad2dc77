"""Who is calling: API keys for machine clients, signed tokens (JWT) for people.

- API keys: `egk_<id>_<secret>`; only the SHA-256 of the whole key is stored,
  with the role and grid scope it carries; revocable.
- People log in with a password (PBKDF2-SHA256, 600,000 iterations: about 0.3 s of
  CPU, on a native thread under the gateway's gevent worker so that its other requests go
  on meanwhile; an unknown username costs the same, so the answer's time does not tell
  which usernames exist) and get a short-lived access token (HS256, GATEWAY_JWT_SECRET)
  and a refresh token. A refresh token is used once: refreshing rotates it; presenting
  a used one again revokes the whole family (a stolen token replayed after its owner
  used it).
- Tokens from an external OpenID Connect provider are accepted when
  OIDC_JWKS_URL and OIDC_ISSUER are set (RS256 via the provider's keys), mapped
  to an account by the `preferred_username` claim.
Only HS256/RS256 are accepted: `alg: none` and algorithm swaps fail verification.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
import sys
import uuid
from datetime import datetime, timedelta, timezone

import jwt
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from servicekit.config import ConfigError
from servicekit.errors import ApiError
from servicekit.identity import ROLES, Identity
from servicekit.tables import utcnow

from .models import accounts, api_keys, refresh_tokens

DEV_JWT_SECRET = "dev-only-gateway-jwt-secret-change-me"
ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=7)
PBKDF2_ITERATIONS = 600_000
# What an unknown username's password is checked against: the work of a real account's check,
# and a derived key of zeros, which no password gives.
NO_ACCOUNT_HASH = f"pbkdf2_sha256${PBKDF2_ITERATIONS}${'A' * 22}==${'A' * 43}="
ISSUER = "envgrid-gateway"


def jwt_secret(production: bool) -> str:
    secret = os.environ.get("GATEWAY_JWT_SECRET", DEV_JWT_SECRET)
    if production and secret == DEV_JWT_SECRET:
        raise ConfigError("refusing to start in production with the development GATEWAY_JWT_SECRET")
    return secret


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _check_roles(roles) -> frozenset[str]:
    roles = frozenset(roles)
    if not roles or not roles <= ROLES:
        raise ApiError(422, f"unknown roles {sorted(roles - ROLES)}", fields={"roles": [f"one of {sorted(ROLES)}"]})
    return roles


# -- API keys -------------------------------------------------------------------
def create_key(session: Session, subject: str, roles, grids, note: str, created_by: str) -> dict:
    """A new key. Its secret is in this answer only: it cannot be shown again."""
    roles = _check_roles(roles)
    key_id = secrets.token_hex(4)
    key = f"egk_{key_id}_{secrets.token_urlsafe(32)}"
    session.execute(insert(api_keys).values(key_id=key_id, sha256=digest(key), subject=subject, roles=sorted(roles),
                                            grids=list(grids), note=note, created_at=utcnow(),
                                            created_by=created_by, revoked_at=None))
    return {"key_id": key_id, "key": key, "subject": subject, "roles": sorted(roles), "grids": list(grids)}


def revoke_key(session: Session, key_id: str) -> dict:
    if session.execute(update(api_keys).where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
                       .values(revoked_at=utcnow())).rowcount != 1:
        raise ApiError(404, f"no active key {key_id}")
    return {"key_id": key_id, "revoked": True}


def list_keys(session: Session) -> list[dict]:
    rows = session.execute(select(api_keys).order_by(api_keys.c.created_at)).all()
    return [{"key_id": r.key_id, "subject": r.subject, "roles": r.roles, "grids": r.grids, "note": r.note,
             "created_at": r.created_at.isoformat(), "revoked": r.revoked_at is not None} for r in rows]


def identity_of_key(session: Session, key: str) -> Identity | None:
    row = session.execute(select(api_keys).where(api_keys.c.sha256 == digest(key))).first()
    if row is None or row.revoked_at is not None:
        return None
    return Identity(row.subject, frozenset(row.roles), tuple(row.grids))


# -- passwords and accounts ---------------------------------------------------------
_hashing = None  # under gevent: the one native thread that checks passwords, made on first use


def _under_gevent() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")


def _pbkdf2(password: str, salt: bytes, iterations: int) -> bytes:
    work = functools.partial(hashlib.pbkdf2_hmac, "sha256", password.encode("utf-8"), salt, iterations)
    if not _under_gevent():
        return work()
    # In the event loop a check would stop every other request of the worker for its 0.3 s.
    # hashlib releases the GIL, so on a native thread it runs beside them; one thread, so that
    # password checks take at most one core and the event loop keeps the rest. Logins queue
    # behind each other (200 a minute a worker), well above what the login limits let in.
    global _hashing
    if _hashing is None:
        from gevent.threadpool import ThreadPool
        _hashing = ThreadPool(1)
    return _hashing.apply(work)


def hash_password(password: str, iterations: int = PBKDF2_ITERATIONS) -> str:
    salt = secrets.token_bytes(16)
    derived = _pbkdf2(password, salt, iterations)
    return f"pbkdf2_sha256${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(derived).decode()}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, iterations, salt, expected = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    derived = _pbkdf2(password, base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(derived, base64.b64decode(expected))


def create_account(session: Session, data: dict) -> dict:
    roles = _check_roles(data["roles"])
    if session.execute(select(accounts.c.username).where(accounts.c.username == data["username"])).first():
        raise ApiError(409, f"account {data['username']} exists")
    session.execute(insert(accounts).values(
        username=data["username"], password_hash=hash_password(data["password"]),
        display_name=data.get("display_name") or data["username"], person_id=data.get("person_id"),
        roles=sorted(roles), grids=list(data.get("grids") or []), active=True, created_at=utcnow()))
    return {"username": data["username"], "roles": sorted(roles), "grids": list(data.get("grids") or [])}


# -- tokens ------------------------------------------------------------------------
def _issue(session: Session, account, grids: list[str], secret: str, family: str | None = None) -> dict:
    now = datetime.now(timezone.utc)
    access = jwt.encode({"iss": ISSUER, "sub": account.username, "name": account.display_name,
                         "roles": list(account.roles), "grids": grids, "iat": now, "exp": now + ACCESS_TTL,
                         "typ": "access"}, secret, algorithm="HS256")
    token_id = uuid.uuid4().hex
    session.execute(insert(refresh_tokens).values(token_id=token_id, username=account.username,
                                                  family=family or uuid.uuid4().hex, expires_at=now + REFRESH_TTL,
                                                  used_at=None, revoked_at=None))
    refresh = jwt.encode({"iss": ISSUER, "sub": account.username, "jti": token_id, "iat": now,
                          "exp": now + REFRESH_TTL, "typ": "refresh"}, secret, algorithm="HS256")
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
            "expires_in": int(ACCESS_TTL.total_seconds())}


def login(session: Session, username: str, password: str, secret: str, scope_of=None) -> dict:
    account = session.execute(select(accounts).where(accounts.c.username == username)).first()
    # Same answer and the same work for an unknown user and a wrong password.
    if account is None:
        password_matches(password, NO_ACCOUNT_HASH)
        raise ApiError(401, "wrong username or password", code="invalid_credentials")
    if not password_matches(password, account.password_hash) or not account.active:
        raise ApiError(401, "wrong username or password", code="invalid_credentials")
    grids = list(account.grids)
    if scope_of is not None and account.person_id:
        fresh = scope_of(account.person_id)  # the registry's current roles; None when it cannot be asked
        if fresh is not None:
            grids = fresh
            session.execute(update(accounts).where(accounts.c.username == username).values(grids=grids))
    return _issue(session, account, grids, secret)


class ReusedRefreshToken(Exception):
    """A refresh token presented after it was used: its whole family must be revoked."""

    def __init__(self, family: str):
        super().__init__(family)
        self.family = family


def revoke_family(session: Session, family: str) -> None:
    session.execute(update(refresh_tokens).where(refresh_tokens.c.family == family).values(revoked_at=utcnow()))


def refresh(session: Session, token: str, secret: str) -> dict:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "jti"]})
    except jwt.PyJWTError:
        raise ApiError(401, "invalid refresh token", code="invalid_token") from None
    if claims.get("typ") != "refresh":
        raise ApiError(401, "not a refresh token", code="invalid_token")
    row = session.execute(select(refresh_tokens).where(refresh_tokens.c.token_id == claims["jti"])).first()
    if row is None or row.revoked_at is not None:
        raise ApiError(401, "refresh token revoked", code="invalid_token")
    if row.used_at is not None:
        raise ReusedRefreshToken(row.family)  # used twice: someone has a copy; the caller ends the login
    session.execute(update(refresh_tokens).where(refresh_tokens.c.token_id == row.token_id).values(used_at=utcnow()))
    account = session.execute(select(accounts).where(accounts.c.username == row.username)).one()
    if not account.active:
        raise ApiError(401, "account disabled", code="invalid_token")
    return _issue(session, account, list(account.grids), secret, family=row.family)


def identity_of_token(token: str, secret: str) -> Identity:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], issuer=ISSUER,
                            options={"require": ["exp", "sub", "iat"]})
    except jwt.ExpiredSignatureError:
        raise ApiError(401, "token expired", code="invalid_token") from None
    except jwt.PyJWTError:
        raise ApiError(401, "invalid token", code="invalid_token") from None
    if claims.get("typ") != "access":
        raise ApiError(401, "not an access token", code="invalid_token")
    roles = frozenset(claims.get("roles") or ())
    if not roles <= ROLES:
        raise ApiError(401, "token names unknown roles", code="invalid_token")
    return Identity(claims["sub"], roles, tuple(claims.get("grids") or ()), claims.get("name"))


def identity_of_oidc_token(session: Session, token: str) -> Identity:
    """A token of the district's own identity provider (OIDC_JWKS_URL, OIDC_ISSUER, OIDC_AUDIENCE)."""
    client = _jwks_client()
    try:
        key = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], issuer=os.environ["OIDC_ISSUER"],
                            audience=os.environ.get("OIDC_AUDIENCE"),
                            options={"require": ["exp", "iss"], "verify_aud": bool(os.environ.get("OIDC_AUDIENCE"))})
    except (jwt.PyJWTError, OSError):
        raise ApiError(401, "invalid token from the identity provider", code="invalid_token") from None
    username = claims.get("preferred_username") or claims.get("sub")
    account = session.execute(select(accounts).where(accounts.c.username == username)).first()
    if account is None or not account.active:
        raise ApiError(401, f"no EnvGrid account for {username}", code="invalid_token")
    return Identity(account.username, frozenset(account.roles), tuple(account.grids), account.display_name)


_jwks: dict = {}


def _jwks_client():
    url = os.environ["OIDC_JWKS_URL"]
    if _jwks.get("url") != url:
        _jwks.update(url=url, client=jwt.PyJWKClient(url, cache_keys=True, lifespan=300))
    return _jwks["client"]


def oidc_enabled() -> bool:
    return bool(os.environ.get("OIDC_JWKS_URL") and os.environ.get("OIDC_ISSUER"))


def token_issuer(token: str) -> str | None:
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None
