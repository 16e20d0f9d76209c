"""Minting and verifying bearer tokens: signatures, key types, claims."""

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from carekit.auth.keys import ensure_dev_keys, load_private_key
from carekit.auth.tokens import InvalidToken, TokenIssuer, TokenVerifier


@pytest.fixture(scope="module")
def ed_keys(tmp_path_factory) -> tuple[Path, Path]:
    return ensure_dev_keys(tmp_path_factory.mktemp("ed"))


@pytest.fixture(scope="module")
def rsa_keys(tmp_path_factory) -> tuple[Path, Path]:
    key = generate_private_key(public_exponent=65537, key_size=2048)
    folder = tmp_path_factory.mktemp("rsa")
    (folder / "rsa.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (folder / "rsa.pub.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return folder / "rsa.pem", folder / "rsa.pub.pem"


def verifier(*public: Path) -> TokenVerifier:
    return TokenVerifier(audience="guanhuai", issuer="guanhuai", public_key_files=list(public))


def mint(private: Path, **kwargs) -> str:
    kwargs.setdefault("sub", "u-1")
    kwargs.setdefault("roles", ["caseworker"])
    kwargs.setdefault("audience", "guanhuai")
    return TokenIssuer(private, issuer=kwargs.pop("issuer", "guanhuai")).mint(**kwargs)


def raw_token(private: Path, **claims) -> str:
    """A token with exactly these claims (plus defaults), for claims `TokenIssuer` would not produce."""
    now = int(time.time())
    body = {"sub": "u-1", "aud": "guanhuai", "iss": "guanhuai", "iat": now, "exp": now + 60,
            "roles": ["caseworker"], **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, load_private_key(private),
                      algorithm="EdDSA")


def test_round_trip_gives_the_principal(ed_keys) -> None:
    token = mint(ed_keys[0], sub="cw-7", roles=["caseworker", "approver"], region="360702", agency="x")
    principal = verifier(ed_keys[1]).verify(token)
    assert principal.sub == "cw-7"
    assert principal.roles == {"caseworker", "approver"}
    assert principal.region == "360702"
    assert principal.agency == "x"
    assert principal.token_id


def test_rs256_verifies_with_an_rsa_key(rsa_keys) -> None:
    assert verifier(rsa_keys[1]).verify(mint(rsa_keys[0], sub="r")).sub == "r"


def test_either_of_two_keys_of_different_types_verifies(ed_keys, rsa_keys) -> None:
    # Key rotation / migration: an RSA and an Ed25519 key trusted at once, in either order.
    for keys in ([rsa_keys[1], ed_keys[1]], [ed_keys[1], rsa_keys[1]]):
        both = verifier(*keys)
        assert both.verify(mint(ed_keys[0], sub="ed")).sub == "ed"
        assert both.verify(mint(rsa_keys[0], sub="rsa")).sub == "rsa"


@pytest.mark.parametrize(("signer", "trusted"), [("rsa", "ed"), ("ed", "rsa")])
def test_token_of_the_other_key_type_is_invalid(ed_keys, rsa_keys, signer, trusted) -> None:
    keys = {"ed": ed_keys, "rsa": rsa_keys}
    with pytest.raises(InvalidToken, match="signature"):
        verifier(keys[trusted][1]).verify(mint(keys[signer][0]))


def test_another_ed25519_key_is_invalid(ed_keys, tmp_path) -> None:
    other_private, _ = ensure_dev_keys(tmp_path)
    with pytest.raises(InvalidToken, match="signature"):
        verifier(ed_keys[1]).verify(mint(other_private))


def test_hs256_signed_with_the_public_key_is_refused(ed_keys) -> None:
    # The classic algorithm-confusion attack: HMAC keyed with the (public) verification key.
    # PyJWT will not build such a token, so it is put together by hand.
    def part(data: dict) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=")

    now = int(time.time())
    signing_input = part({"alg": "HS256", "typ": "JWT"}) + b"." + part(
        {"sub": "x", "aud": "guanhuai", "iss": "guanhuai", "iat": now, "exp": now + 60, "roles": ["admin"]})
    mac = hmac.new(ed_keys[1].read_bytes(), signing_input, hashlib.sha256).digest()
    token = (signing_input + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()
    with pytest.raises(InvalidToken):
        verifier(ed_keys[1]).verify(token)


def test_unsigned_token_is_refused(ed_keys) -> None:
    token = jwt.encode({"sub": "x", "aud": "guanhuai", "iss": "guanhuai", "iat": 0, "exp": 2**31,
                        "roles": ["admin"]}, None, algorithm="none")
    with pytest.raises(InvalidToken):
        verifier(ed_keys[1]).verify(token)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "eyJhbGciOiJFZERTQSJ9.e30.AAAA"])
def test_garbage_is_invalid(ed_keys, token) -> None:
    with pytest.raises(InvalidToken):
        verifier(ed_keys[1]).verify(token)


def test_expired_beyond_leeway_is_invalid(ed_keys) -> None:
    with pytest.raises(InvalidToken, match="expired"):
        verifier(ed_keys[1]).verify(mint(ed_keys[0], ttl_seconds=-31 - 5))


def test_expired_within_leeway_is_accepted(ed_keys) -> None:
    assert verifier(ed_keys[1]).verify(mint(ed_keys[0], ttl_seconds=-5)).sub == "u-1"


def test_wrong_audience_and_issuer_are_invalid(ed_keys) -> None:
    with pytest.raises(InvalidToken, match="audience"):
        verifier(ed_keys[1]).verify(mint(ed_keys[0], audience="other"))
    with pytest.raises(InvalidToken, match="issuer"):
        verifier(ed_keys[1]).verify(mint(ed_keys[0], issuer="someone-else"))


def test_audience_list_containing_ours_is_accepted(ed_keys) -> None:
    assert verifier(ed_keys[1]).verify(mint(ed_keys[0], audience=["other", "guanhuai"])).sub == "u-1"


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "aud", "iss"])
def test_required_claims(ed_keys, claim) -> None:
    with pytest.raises(InvalidToken):
        verifier(ed_keys[1]).verify(raw_token(ed_keys[0], **{claim: None}))


@pytest.mark.parametrize("claims", [
    {"roles": ["caseworker", "wizard"]},
    {"roles": "caseworker"},
    {"roles": None},
    {"roles": [1]},
    {"region": "36070"},
    {"region": "360702\n"},
    {"region": "３６０７０２"},  # full-width digits are not a division code
    {"region": 360702},
    {"roles": ["partner"]},
    {"roles": ["partner"], "agency": ""},
    {"roles": ["partner"], "agency": {"id": 1}},
    {"agency": 42},
])
def test_bad_claims_are_invalid(ed_keys, claims) -> None:
    with pytest.raises(InvalidToken):
        verifier(ed_keys[1]).verify(raw_token(ed_keys[0], **claims))


@pytest.mark.parametrize("region", ["36", "3607", "360702", "360702001", "360702001001"])
def test_every_division_level_is_a_valid_region(ed_keys, region) -> None:
    assert verifier(ed_keys[1]).verify(raw_token(ed_keys[0], region=region)).region == region


def test_partner_with_agency_and_remit_is_valid(ed_keys) -> None:
    principal = verifier(ed_keys[1]).verify(raw_token(ed_keys[0], roles=["partner"], agency="acme", region="3607"))
    assert (principal.agency, principal.region) == ("acme", "3607")


def test_verifier_needs_a_key() -> None:
    with pytest.raises(ValueError, match="public key"):
        TokenVerifier(audience="a", issuer="i")


def test_scope_claim_becomes_principal_scopes() -> None:
    from carekit.auth.keys import ensure_dev_keys
    from carekit.auth.tokens import InvalidToken, TokenVerifier
    from carekit.testing.tokens import TokenFactory

    factory = TokenFactory()
    verifier = TokenVerifier(audience="guanhuai", issuer="guanhuai", public_key_files=[ensure_dev_keys()[1]])
    principal = verifier.verify(factory.mint(roles=["caseworker"], region="360702", scopes=["pii:read", "x:y"]))
    assert principal.scopes == frozenset({"pii:read", "x:y"})
    assert verifier.verify(factory.mint(roles=["caseworker"], region="360702")).scopes == frozenset()
    bad = factory.issuer.mint(sub="s", roles=["caseworker"], audience="guanhuai", extra={"scope": ["pii:read"]})
    with pytest.raises(InvalidToken):
        verifier.verify(bad)


def _counting(verifier_: TokenVerifier, monkeypatch) -> list[str]:
    checked: list[str] = []
    real = verifier_._decode

    def decode(token: str) -> dict:
        checked.append(token)
        return real(token)

    monkeypatch.setattr(verifier_, "_decode", decode)
    return checked


def test_a_verified_token_is_checked_once_then_remembered(ed_keys, monkeypatch) -> None:
    v = verifier(ed_keys[1])
    checked = _counting(v, monkeypatch)
    token = mint(ed_keys[0], roles=["partner"], agency="hospital-1", region="360702")
    first, second = v.verify(token), v.verify(token)
    assert first == second and first.agency == "hospital-1"
    assert len(checked) == 1


def test_a_remembered_token_is_checked_again_after_its_expiry_or_the_ttl(ed_keys, monkeypatch) -> None:
    from carekit.auth import tokens

    v = verifier(ed_keys[1])
    checked = _counting(v, monkeypatch)
    long_lived, short_lived = mint(ed_keys[0], ttl_seconds=3600), mint(ed_keys[0], sub="u-2", ttl_seconds=5)
    now = time.time()
    v.verify(long_lived), v.verify(short_lived)
    monkeypatch.setattr(tokens.time, "time", lambda: now + 10)  # past the short one's expiry only
    v.verify(long_lived), v.verify(short_lived)
    assert checked == [long_lived, short_lived, short_lived]
    monkeypatch.setattr(tokens.time, "time", lambda: now + tokens.VERIFIED_TTL_SECONDS + 1)
    v.verify(long_lived)
    assert checked[-1] == long_lived and len(checked) == 4


def test_a_refused_token_is_not_remembered(ed_keys, monkeypatch) -> None:
    v = verifier(ed_keys[1])
    checked = _counting(v, monkeypatch)
    token = mint(ed_keys[0], audience="someone-else")
    for _ in range(2):
        with pytest.raises(InvalidToken):
            v.verify(token)
    assert len(checked) == 2


def test_the_memory_of_verified_tokens_is_bounded(ed_keys, monkeypatch) -> None:
    from carekit.auth import tokens

    monkeypatch.setattr(tokens, "VERIFIED_MAX_ENTRIES", 8)
    v = verifier(ed_keys[1])
    for i in range(30):
        v.verify(mint(ed_keys[0], sub=f"u-{i}"))
        assert len(v._verified) <= 8
