"""The registry, asked at send time for payees' names, bank cards and whether they are alive (contract C1).

Calls carry this service's own token with the `pii:read` scope. Names and cards are kept in memory
for the chunk being sent and never written to this service's tables, events or logs (only the
masked name for public posting is stored).
"""

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import httpx

from carekit.auth.keys import ensure_dev_keys
from carekit.auth.principal import Role
from carekit.auth.service_client import service_http_client
from carekit.auth.tokens import TokenIssuer
from carekit.settings import ServiceSettings

BATCH_LIMIT = 1000
PII_READ = "pii:read"


@dataclass(frozen=True)
class Payee:
    person_id: str
    name: str | None
    bank_card: str | None
    alive: bool
    died_on: date | None


class RegistryUnavailable(Exception):
    """The registry did not answer as it should; the payments stay where they are and are tried again."""


class ScopedServiceTokens:
    """This service's short-lived token (role `service`) with the scopes the registry asks for."""

    def __init__(self, issuer: TokenIssuer, *, service_name: str, audience: str, scopes: tuple[str, ...]) -> None:
        self._issuer, self._sub, self._audience = issuer, f"service:{service_name}", audience
        self._scope = " ".join(scopes)
        self._token, self._expires = "", 0.0

    def token(self) -> str:
        if time.time() > self._expires - 60:
            self._token = self._issuer.mint(
                sub=self._sub,
                roles=[Role.SERVICE],
                audience=self._audience,
                ttl_seconds=300,
                extra={"scope": self._scope},
            )
            self._expires = time.time() + 300
        return self._token


def registry_tokens(settings: ServiceSettings) -> ScopedServiceTokens | None:
    key_file = settings.service_signing_key_file
    if key_file is None and settings.environment != "prod":
        key_file = ensure_dev_keys()[0]
    if key_file is None:
        return None
    issuer = TokenIssuer(key_file, issuer=settings.jwt_issuer, key_id=settings.service_signing_key_id)
    return ScopedServiceTokens(
        issuer, service_name=settings.service_name, audience=settings.jwt_audience, scopes=(PII_READ,)
    )


class RegistryClient:
    def __init__(self, client: httpx.AsyncClient, chunk_size: int = BATCH_LIMIT) -> None:
        self._client = client
        self._chunk = min(chunk_size, BATCH_LIMIT)

    @classmethod
    def from_settings(cls, settings, transport: httpx.AsyncBaseTransport | None = None) -> "RegistryClient":  # noqa: ANN001
        tokens = registry_tokens(settings)
        client = service_http_client(
            settings.registry_url,
            tokens,
            timeout=30.0,  # type: ignore[arg-type]
            # idle connections go before the registry's keep-alive (5 s) can close one under a request
            transport=transport or httpx.AsyncHTTPTransport(limits=httpx.Limits(keepalive_expiry=2.0)),
        )
        return cls(client, settings.registry_chunk_size)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def payees(self, person_ids: Sequence[str]) -> dict[str, Payee]:
        """Name, bank card and life status of each person the registry knows (absent ones are missing).
        More than one call's worth of ids are asked for concurrently, one call per ≤ 1,000 ids."""
        unique = list(dict.fromkeys(person_ids))
        slices = [unique[start : start + self._chunk] for start in range(0, len(unique), self._chunk)]
        found: dict[str, Payee] = {}
        for answer in await asyncio.gather(*(self._payees(ids) for ids in slices)):
            found.update(answer)
        return found

    async def _payees(self, person_ids: list[str]) -> dict[str, Payee]:
        body = {"person_ids": person_ids, "fields": ["name", "bank_card"], "purpose": "disbursement"}
        try:
            response = await self._client.post("/v1/persons/identifiers:batch", json=body)
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(type(exc).__name__) from exc
        if response.status_code != 200:
            raise RegistryUnavailable(f"registry answered {response.status_code}")
        found: dict[str, Payee] = {}
        for row in response.json()["persons"]:
            died = row.get("died_on")
            found[row["person_id"]] = Payee(
                row["person_id"],
                row.get("name"),
                row.get("bank_card"),
                bool(row.get("alive", True)),
                date.fromisoformat(died) if died else None,
            )
        return found
