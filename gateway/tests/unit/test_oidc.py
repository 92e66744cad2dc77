"""Tokens of the district's own identity provider (OpenID Connect), verified with its published keys."""
import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from gateway import credentials
from gateway.bootstrap import SPEC
from servicekit.config import load_settings
from servicekit.db import Database
from servicekit.errors import ApiError
from servicekit.migrate import upgrade

ISSUER = "https://idp.jincheng.example/realms/district"


@pytest.fixture
def provider(monkeypatch):
    """A key pair and a JWKS endpoint serving its public half, as an identity provider does."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key())) | {"kid": "k1", "use": "sig", "alg": "RS256"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = json.dumps({"keys": [jwk]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OIDC_JWKS_URL", f"http://127.0.0.1:{server.server_port}/certs")
    monkeypatch.setenv("OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("OIDC_AUDIENCE", "envgrid")
    credentials._jwks.clear()
    yield key
    server.shutdown()


@pytest.fixture
def db(tmp_path):
    settings = load_settings("gateway", {"ENVGRID_DATA_DIR": str(tmp_path)})
    upgrade(SPEC, settings)
    database = Database(settings.database_url)
    with database.transaction() as session:
        credentials.create_account(session, {"username": "li.na", "password": "x" * 12, "roles": ["grid_staff"],
                                             "grids": ["140502003"], "display_name": "李娜"})
    return database


def token(key, **claims):
    now = datetime.now(timezone.utc)
    base = {"iss": ISSUER, "aud": "envgrid", "sub": "u-77", "preferred_username": "li.na", "iat": now,
            "exp": now + timedelta(minutes=5)}
    return jwt.encode(base | claims, key, algorithm="RS256", headers={"kid": "k1"})


def test_a_provider_token_maps_to_the_account_and_its_scope(provider, db):
    assert credentials.oidc_enabled() and credentials.token_issuer(token(provider)) == ISSUER
    with db.transaction() as session:
        who = credentials.identity_of_oidc_token(session, token(provider))
    assert (who.subject, who.roles, who.grids, who.name) == ("li.na", frozenset({"grid_staff"}), ("140502003",), "李娜")


@pytest.mark.parametrize("change", [
    {"aud": "someone-else"}, {"exp": datetime.now(timezone.utc) - timedelta(seconds=5)},
    {"preferred_username": "nobody"}])
def test_wrong_audience_expired_or_unknown_users_are_401(provider, db, change):
    with db.transaction() as session, pytest.raises(ApiError) as err:
        credentials.identity_of_oidc_token(session, token(provider, **change))
    assert err.value.status == 401


def test_a_token_signed_by_another_key_is_401(provider, db):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with db.transaction() as session, pytest.raises(ApiError):
        credentials.identity_of_oidc_token(session, token(stranger))
