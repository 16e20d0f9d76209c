"""Authentication (401), role checks (403) and jurisdiction (404, never 403) over HTTP."""

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from kitapp.app import ROOT, make_app

from carekit.auth.keys import ensure_dev_keys
from carekit.testing.service import running
from carekit.testing.tokens import TokenFactory

UNAUTHORIZED = "urn:guanhuai:problem:unauthorized"


@pytest.fixture(scope="module")
def stranger(tmp_path_factory) -> TokenFactory:
    """Mints tokens with the right claims but another Ed25519 key."""
    private, _ = ensure_dev_keys(tmp_path_factory.mktemp("other-keys"))
    return TokenFactory(private)


@pytest.fixture(scope="module")
def rsa_keys(tmp_path_factory) -> tuple[TokenFactory, Path]:
    """An RS256 token factory and the matching public key file."""
    key = generate_private_key(public_exponent=65537, key_size=2048)
    folder = tmp_path_factory.mktemp("rsa")
    (folder / "rsa.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (folder / "rsa.pub.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return TokenFactory(folder / "rsa.pem"), folder / "rsa.pub.pem"


def assert_unauthorized(response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == UNAUTHORIZED
    assert response.json()["title_zh"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_no_token_is_401(kit) -> None:
    assert_unauthorized(await kit.client.get("/v1/me"))


async def test_non_bearer_scheme_is_401(kit) -> None:
    assert_unauthorized(await kit.client.get("/v1/me", headers={"Authorization": "Basic dXNlcjpwdw=="}))


async def test_expired_token_is_401(kit, tokens) -> None:
    # Past the verifier's 30 s leeway.
    response = await kit.client.get("/v1/me", headers=tokens.headers(roles=["citizen"], ttl_seconds=-120))
    assert_unauthorized(response)
    assert "expired" in response.json()["detail"]


async def test_token_signed_by_another_key_is_401(kit, stranger) -> None:
    response = await kit.client.get("/v1/me", headers=stranger.headers(roles=["caseworker"], region="360702"))
    assert_unauthorized(response)
    assert "signature" in response.json()["detail"]


async def test_rs256_token_against_ed25519_key_is_401_not_500(kit, rsa_keys) -> None:
    rsa_tokens, _ = rsa_keys
    assert_unauthorized(await kit.client.get("/v1/me", headers=rsa_tokens.headers(roles=["citizen"])))


async def test_wrong_audience_is_401(kit, tokens) -> None:
    response = await kit.client.get("/v1/me", headers=tokens.headers(roles=["citizen"], audience="elsewhere"))
    assert_unauthorized(response)
    assert "audience" in response.json()["detail"]


async def test_garbage_token_is_401(kit) -> None:
    assert_unauthorized(await kit.client.get("/v1/me", headers={"Authorization": "Bearer not.a.jwt"}))


@pytest.mark.parametrize("claims", [
    {"roles": ["wizard"]},
    {"roles": ["caseworker"], "region": "36070"},  # not a division-code length
    {"roles": ["caseworker"], "region": "36070X"},
    {"roles": ["partner"]},  # a partner must name its agency
])
async def test_bad_claims_are_401(kit, tokens, claims) -> None:
    assert_unauthorized(await kit.client.get("/v1/me", headers=tokens.headers(**claims)))


@pytest.mark.parametrize("region", [None, "360702001", "360702001001"])
async def test_a_partner_token_without_a_county_or_wider_remit_is_401(kit, tokens, region) -> None:
    response = await kit.client.get("/v1/me", headers=tokens.headers(roles=["partner"], agency="acme", region=region))
    assert_unauthorized(response)
    assert "remit" in response.json()["detail"] and "省、市或县" in response.json()["detail_zh"]


async def test_me_echoes_the_token(kit, tokens) -> None:
    response = await kit.client.get(
        "/v1/me", headers=tokens.headers(roles=["partner", "citizen"], sub="p-1", agency="acme", region="36"))
    assert response.status_code == 200
    assert response.json() == {
        "sub": "p-1", "roles": ["citizen", "partner"], "region": "36", "agency": "acme"}


async def test_rs256_token_verifies_with_an_rsa_public_key(migrated_database, nats_url, rsa_keys,
                                                           tokens) -> None:
    rsa_tokens, public = rsa_keys
    app = make_app("rsa", await migrated_database("rsa", ROOT), nats_url, jwt_public_key_file=public)
    async with running(app) as client:
        ok = await client.get("/v1/me", headers=rsa_tokens.headers(roles=["citizen"], sub="rsa-user"))
        assert ok.status_code == 200, ok.text
        assert ok.json()["sub"] == "rsa-user"
        # The dev Ed25519 key is no longer trusted once another key is configured.
        assert_unauthorized(await client.get("/v1/me", headers=tokens.headers(roles=["citizen"])))


async def create(kit, tokens, note_region: str, **token) -> object:
    token.setdefault("roles", ["caseworker"])
    token.setdefault("region", note_region[:6])
    return await kit.client.post("/v1/notes", json={"region": note_region, "body": "note"},
                                 headers=tokens.headers(**token))


async def test_caseworker_sees_notes_in_own_region_only(kit, tokens) -> None:
    inside = (await create(kit, tokens, "360702001001")).json()["id"]
    outside = (await create(kit, tokens, "360703001001")).json()["id"]
    caseworker = tokens.headers(roles=["caseworker"], region="360702")

    assert (await kit.client.get(f"/v1/notes/{inside}", headers=caseworker)).status_code == 200
    hidden = await kit.client.get(f"/v1/notes/{outside}", headers=caseworker)
    assert hidden.status_code == 404
    assert hidden.headers["content-type"] == "application/problem+json"
    assert hidden.json()["type"] == "urn:guanhuai:problem:not-found"


async def test_caseworker_cannot_create_outside_region(kit, tokens) -> None:
    response = await create(kit, tokens, "360703009999", region="360702")
    assert response.status_code == 404
    assert await kit.fetchval("SELECT count(*) FROM notes WHERE region = '360703009999'") == 0


async def test_role_without_caseworker_or_admin_gets_403_on_create(kit, tokens) -> None:
    response = await create(kit, tokens, "360702001001", roles=["citizen", "auditor"])
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:guanhuai:problem:forbidden"
    assert "caseworker" in body["detail"]


async def test_admin_may_create(kit, tokens) -> None:
    assert (await create(kit, tokens, "360702001009", roles=["admin"], region="36")).status_code == 201


async def test_service_token_crosses_regions(kit, tokens) -> None:
    note = (await create(kit, tokens, "360703001001", region="360703")).json()["id"]
    service = tokens.headers(roles=["service"], sub="service:other")
    assert (await kit.client.get(f"/v1/notes/{note}", headers=service)).status_code == 200
