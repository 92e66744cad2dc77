"""API keys, passwords and tokens: what is accepted and, above all, what is not."""
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from gateway import credentials
from gateway.bootstrap import SPEC
from servicekit.config import load_settings
from servicekit.db import Database
from servicekit.errors import ApiError
from servicekit.migrate import upgrade

SECRET = "unit-test-gateway-secret-0123456789"


@pytest.fixture
def db(tmp_path):
    settings = load_settings("gateway", {"ENVGRID_DATA_DIR": str(tmp_path)})
    upgrade(SPEC, settings)
    return Database(settings.database_url)


@pytest.fixture
def account(db):
    with db.transaction() as session:
        credentials.create_account(session, {"username": "zhang.wei", "password": "correct horse battery",
                                             "roles": ["grid_staff"], "grids": ["140502001001"],
                                             "display_name": "张伟"})


def test_an_api_key_is_stored_hashed_carries_its_roles_and_stops_when_revoked(db):
    with db.transaction() as session:
        made = credentials.create_key(session, "city", ["city_platform"], [], "市平台", "admin")
    from gateway.models import api_keys
    from sqlalchemy import select
    with db.transaction() as session:
        stored = session.execute(select(api_keys)).one()
        assert made["key"] not in str(tuple(stored)) and stored.sha256 == credentials.digest(made["key"])
        assert credentials.identity_of_key(session, made["key"]).roles == frozenset({"city_platform"})
        assert credentials.identity_of_key(session, made["key"] + "x") is None
        credentials.revoke_key(session, made["key_id"])
        assert credentials.identity_of_key(session, made["key"]) is None


def test_unknown_roles_cannot_be_given_to_a_key(db):
    with db.transaction() as session, pytest.raises(ApiError) as err:
        credentials.create_key(session, "x", ["root"], [], "", "admin")
    assert err.value.status == 422


def test_login_gives_a_token_with_roles_and_scope(db, account):
    with db.transaction() as session:
        tokens = credentials.login(session, "zhang.wei", "correct horse battery", SECRET)
    who = credentials.identity_of_token(tokens["access_token"], SECRET)
    assert (who.subject, who.roles, who.grids, who.name) == ("zhang.wei", frozenset({"grid_staff"}),
                                                              ("140502001001",), "张伟")


def test_login_takes_the_current_scope_from_the_registry_when_it_answers(db, account):
    from gateway.models import accounts
    from sqlalchemy import update
    with db.transaction() as session:
        session.execute(update(accounts).values(person_id="P1"))
        tokens = credentials.login(session, "zhang.wei", "correct horse battery", SECRET,
                                   scope_of=lambda person: ["140502002"])
    assert credentials.identity_of_token(tokens["access_token"], SECRET).grids == ("140502002",)


@pytest.mark.parametrize("username,password", [("zhang.wei", "wrong"), ("nobody", "correct horse battery")])
def test_wrong_credentials_are_one_and_the_same_401(db, account, username, password):
    with db.transaction() as session, pytest.raises(ApiError) as err:
        credentials.login(session, username, password, SECRET)
    assert (err.value.status, err.value.message) == (401, "wrong username or password")


def test_an_unknown_username_costs_the_same_hashing_as_a_wrong_password(db, account, monkeypatch):
    """Else the time of the 401 would tell which usernames exist."""
    rounds = []
    real = credentials.hashlib.pbkdf2_hmac
    monkeypatch.setattr(credentials.hashlib, "pbkdf2_hmac",
                        lambda name, password, salt, iterations: rounds.append(iterations) or real(name, password, salt, 1))
    for username in ("zhang.wei", "nobody"):
        with db.transaction() as session, pytest.raises(ApiError):
            credentials.login(session, username, "wrong", SECRET)
    assert rounds == [credentials.PBKDF2_ITERATIONS] * 2


def _token(**claims):
    now = datetime.now(timezone.utc)
    base = {"iss": credentials.ISSUER, "sub": "x", "roles": ["admin"], "iat": now, "exp": now + timedelta(minutes=5),
            "typ": "access"}
    return base | claims


@pytest.mark.parametrize("token", [
    jwt.encode(_token(), "another-secret-entirely-0000000000", algorithm="HS256"),                      # forged
    jwt.encode(_token(exp=datetime.now(timezone.utc) - timedelta(seconds=1)), SECRET, algorithm="HS256"),  # expired
    jwt.encode(_token(), None, algorithm="none"),                                                  # alg none
    jwt.encode(_token(typ="refresh"), SECRET, algorithm="HS256"),                                  # wrong kind
    jwt.encode(_token(roles=["root"]), SECRET, algorithm="HS256"),                                 # unknown role
    jwt.encode(_token(iss="someone-else"), SECRET, algorithm="HS256"),                             # other issuer
    "not.a.token",
])
def test_forged_expired_unsigned_and_odd_tokens_are_401(token):
    with pytest.raises(ApiError) as err:
        credentials.identity_of_token(token, SECRET)
    assert err.value.status == 401


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_login(db, account):
    with db.transaction() as session:
        first = credentials.login(session, "zhang.wei", "correct horse battery", SECRET)
    with db.transaction() as session:
        second = credentials.refresh(session, first["refresh_token"], SECRET)
    with db.transaction() as session, pytest.raises(credentials.ReusedRefreshToken) as reused:
        credentials.refresh(session, first["refresh_token"], SECRET)
    with db.transaction() as session:
        credentials.revoke_family(session, reused.value.family)
    with db.transaction() as session, pytest.raises(ApiError):
        credentials.refresh(session, second["refresh_token"], SECRET)  # the thief's or the owner's: both gone


def test_passwords_are_salted_pbkdf2():
    one, two = credentials.hash_password("same password", 1000), credentials.hash_password("same password", 1000)
    assert one != two and one.startswith("pbkdf2_sha256$1000$")
    assert credentials.password_matches("same password", one) and not credentials.password_matches("other", one)
