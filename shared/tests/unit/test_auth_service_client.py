"""Service-to-service tokens: minted for `service:<name>`, cached, renewed before they expire."""

import time

import httpx

from carekit.auth.keys import ensure_dev_keys
from carekit.auth.principal import Role
from carekit.auth.service_client import ServiceTokenSource, service_http_client
from carekit.auth.tokens import TokenIssuer, TokenVerifier


def source(tmp_path, ttl: int = 300) -> tuple[ServiceTokenSource, TokenVerifier]:
    private, public = ensure_dev_keys(tmp_path)
    tokens = ServiceTokenSource(TokenIssuer(private, issuer="guanhuai"), service_name="relief",
                                audience="guanhuai", ttl_seconds=ttl)
    return tokens, TokenVerifier(audience="guanhuai", issuer="guanhuai", public_key_files=[public])


def test_token_names_the_service(tmp_path) -> None:
    tokens, verifier = source(tmp_path)
    principal = verifier.verify(tokens.token())
    assert principal.sub == "service:relief"
    assert principal.roles == {Role.SERVICE}
    assert principal.covers("110101001001")


def test_token_is_cached_then_renewed(tmp_path, monkeypatch) -> None:
    tokens, _ = source(tmp_path)
    first = tokens.token()
    assert tokens.token() == first
    now = time.time()
    monkeypatch.setattr("carekit.auth.service_client.time.time", lambda: now + 300 - 30)
    assert tokens.token() != first


async def test_client_sends_the_bearer_token(tmp_path) -> None:
    tokens, verifier = source(tmp_path)
    seen: dict[str, str] = {}

    def registry(request: httpx.Request) -> httpx.Response:
        seen["authorization"] = request.headers["authorization"]
        return httpx.Response(204)

    transport = httpx.MockTransport(registry)
    async with service_http_client("http://registry", tokens, transport=transport) as client:
        await client.get("/v1/families")
    scheme, token = seen["authorization"].split(" ")
    assert scheme == "Bearer"
    assert verifier.verify(token).sub == "service:relief"
