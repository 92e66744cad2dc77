"""The gateway reuses a caller's signed identity headers for a while instead of signing every request."""
from gateway.proxy import SignatureCache
from servicekit import identity as ident

SECRET = "test-secret"
WHO = ident.Identity("key:abc", frozenset({"city_platform"}))


def test_the_same_caller_gets_the_same_signature_within_its_age():
    cache = SignatureCache()
    first = cache.headers(WHO, SECRET, now=1000.0)
    assert cache.headers(WHO, SECRET, now=1000.0 + SignatureCache.MAX_AGE_S - 1) is first
    assert ident.verify(first, SECRET, now=1000.0 + SignatureCache.MAX_AGE_S - 1) == WHO


def test_a_signature_older_than_its_age_is_signed_again_with_a_new_issue_time():
    cache = SignatureCache()
    first = cache.headers(WHO, SECRET, now=1000.0)
    later = 1000.0 + SignatureCache.MAX_AGE_S
    again = cache.headers(WHO, SECRET, now=later)
    assert again != first
    assert again == ident.sign(WHO, SECRET, now=later)


def test_each_caller_has_its_own_signature():
    cache = SignatureCache()
    other = ident.Identity("key:def", frozenset({"city_platform"}))
    assert ident.verify(cache.headers(other, SECRET, now=1000.0), SECRET, now=1000.0) == other
    assert ident.verify(cache.headers(WHO, SECRET, now=1000.0), SECRET, now=1000.0) == WHO


def test_a_reused_signature_stays_well_within_what_services_accept():
    assert SignatureCache.MAX_AGE_S * 5 <= ident.MAX_AGE_S
