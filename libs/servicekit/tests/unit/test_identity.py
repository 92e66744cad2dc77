import pytest

from servicekit import identity as ident

SECRET = "unit-test-secret-0123456789"


def test_signed_identity_round_trips_with_chinese_name():
    who = ident.Identity("u-1", frozenset({"grid_staff"}), ("140502001",), name="张伟")
    assert ident.verify(ident.sign(who, SECRET, now=1000), SECRET, now=1010) == who


def test_no_headers_means_no_identity():
    assert ident.verify({}, SECRET) is None


@pytest.mark.parametrize("mutate", [
    lambda h: {**h, ident.SIGNATURE_HEADER: "0" * 64},
    lambda h: {**h, ident.IDENTITY_HEADER: h[ident.IDENTITY_HEADER][:-2] + "AA"},
    lambda h: {ident.IDENTITY_HEADER: h[ident.IDENTITY_HEADER]},
    lambda h: {**h, ident.IDENTITY_HEADER: "身份"},
])
def test_tampered_or_partial_headers_are_rejected(mutate):
    headers = ident.sign(ident.Identity("u-1", frozenset({"admin"})), SECRET, now=1000)
    with pytest.raises(ident.InvalidIdentity):
        ident.verify(mutate(headers), SECRET, now=1000)


def test_a_different_secret_is_rejected():
    headers = ident.sign(ident.Identity("u-1", frozenset({"admin"})), "another-secret-of-length", now=1000)
    with pytest.raises(ident.InvalidIdentity):
        ident.verify(headers, SECRET, now=1000)


@pytest.mark.parametrize("age", [ident.MAX_AGE_S + 1, -(ident.CLOCK_SKEW_S + 1)])
def test_stale_or_future_identities_are_rejected(age):
    headers = ident.sign(ident.Identity("u-1", frozenset({"admin"})), SECRET, now=10_000)
    with pytest.raises(ident.InvalidIdentity, match="expired"):
        ident.verify(headers, SECRET, now=10_000 + age)


def test_unknown_roles_are_rejected_even_when_signed():
    headers = ident.sign(ident.Identity("u-1", frozenset({"superuser"})), SECRET, now=1000)
    with pytest.raises(ident.InvalidIdentity, match="role"):
        ident.verify(headers, SECRET, now=1000)


def test_grid_scope_is_the_subtree_of_the_scope_grids():
    staff = ident.Identity("u-1", frozenset({"grid_staff"}), ("140502001001",))
    assert staff.covers("140502001001") and staff.covers("140502001001003")
    assert not staff.covers("140502001002") and not staff.covers("140502001")
    assert ident.Identity("ops", frozenset({"district_ops"})).covers("140502008")
    assert not ident.Identity("anon", frozenset({"public"})).covers("140502")
