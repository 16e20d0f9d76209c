"""One check of a token's claims, shared by the verifier and `guanhuai token`: partners need an agency
and a remit (province, prefecture or county), roles must be known, regions division-code prefixes."""

from pathlib import Path

import pytest

from carekit.auth.claims import InvalidClaims, check_claims
from carekit.auth.keys import ensure_dev_keys
from carekit.auth.tokens import InvalidToken, TokenVerifier
from carekit.testing.tokens import TokenFactory


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> tuple[Path, Path]:
    return ensure_dev_keys(tmp_path_factory.mktemp("claims-keys"))


def verify(keys: tuple[Path, Path], **claims) -> object:
    claims.setdefault("roles", ["caseworker"])
    token = TokenFactory(keys[0]).mint(**claims)
    return TokenVerifier(audience="guanhuai", issuer="guanhuai", public_key_files=[keys[1]]).verify(token)


@pytest.mark.parametrize("region", ["36", "3607", "360702"])
def test_a_partner_with_an_agency_and_a_remit_is_valid(keys, region) -> None:
    principal = verify(keys, roles=["partner"], agency="hospital-1", region=region)
    assert (principal.agency, principal.region) == ("hospital-1", region)


@pytest.mark.parametrize(("claims", "words"), [
    ({"roles": ["partner"], "agency": "hospital-1"}, "remit"),
    ({"roles": ["partner"], "agency": "hospital-1", "region": "360702001"}, "remit"),
    ({"roles": ["partner"], "agency": "hospital-1", "region": "360702001001"}, "remit"),
    ({"roles": ["partner", "citizen"], "agency": "hospital-1"}, "remit"),
    ({"roles": ["partner"], "region": "360702"}, "agency"),
    ({"roles": ["partner"], "agency": " ", "region": "360702"}, "agency"),
    ({"roles": ["caseworker"], "region": "3607021"}, "division code"),
    ({"roles": ["caseworker", "wizard"]}, "unknown roles: wizard"),
    ({"roles": []}, "roles"),
    ({"roles": ["caseworker"], "sub": ""}, "subject"),
    ({"roles": ["caseworker"], "sub": "a\x00b"}, "subject"),
    ({"roles": ["caseworker"], "sub": "u" * 129}, "at most 128"),
])
def test_the_verifier_refuses_what_the_check_refuses(keys, claims, words) -> None:
    with pytest.raises(InvalidToken, match=words) as refused:
        verify(keys, **claims)
    with pytest.raises(InvalidClaims) as checked:
        check_claims(**{"sub": "test-user", **claims})
    assert (refused.value.detail, refused.value.detail_zh) == (checked.value.detail, checked.value.detail_zh)
    assert checked.value.detail_zh


def test_scopes_are_single_words() -> None:
    check_claims(sub="s", roles=["caseworker"], scopes=["pii:read"])
    for scope in ("", "pii:read x:y"):
        with pytest.raises(InvalidClaims, match="scope"):
            check_claims(sub="s", roles=["caseworker"], scopes=[scope])
