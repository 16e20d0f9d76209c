"""The registry, asked at send time for the recipients' names and phone numbers (contract C1).

Calls go out with this service's own service token (`carekit.auth.service_client`). The answer is
kept in memory for the batch being sent and never written to this service's tables or logs.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from carekit.auth.keys import ensure_dev_keys
from carekit.auth.principal import Role
from carekit.auth.service_client import ServiceTokenSource
from carekit.auth.tokens import TokenIssuer
from carekit.settings import ServiceSettings

BATCH_LIMIT = 1000
HEAD_ORDER = ("head", "spouse")
PII_READ = "pii:read"


@dataclass(frozen=True)
class Contact:
    person_id: str
    household_id: str | None
    region_code: str | None
    name: str | None
    phone: str | None
    alive: bool


class RegistryUnavailable(Exception):
    """The registry did not answer; the messages stay queued and are tried again."""


class RegistryClient:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def contacts(self, person_ids: Sequence[str]) -> dict[str, Contact]:
        found: dict[str, Contact] = {}
        unique = list(dict.fromkeys(person_ids))
        for start in range(0, len(unique), BATCH_LIMIT):
            chunk = unique[start : start + BATCH_LIMIT]
            body = {"person_ids": chunk, "fields": ["name", "phone"], "purpose": "notification"}
            try:
                response = await self._client.post("/v1/persons/identifiers:batch", json=body)
            except httpx.HTTPError as exc:
                raise RegistryUnavailable(type(exc).__name__) from exc
            if response.status_code != 200:
                raise RegistryUnavailable(f"registry answered {response.status_code}")
            for row in response.json()["persons"]:
                found[row["person_id"]] = Contact(
                    person_id=row["person_id"],
                    household_id=row.get("household_id"),
                    region_code=row.get("region_code"),
                    name=row.get("name"),
                    phone=row.get("phone"),
                    alive=bool(row.get("alive", True)),
                )
        return found

    async def household_contact(self, household_id: str) -> str | None:
        """The person who receives a household's notices: its living head, else the head's spouse."""
        try:
            response = await self._client.get(f"/v1/households/{household_id}")
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(type(exc).__name__) from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise RegistryUnavailable(f"registry answered {response.status_code}")
        members = [m for m in response.json().get("members", []) if m.get("alive", True)]
        for relation in HEAD_ORDER:
            for member in members:
                if member.get("relation") == relation:
                    return str(member["id"])
        return None


class ScopedServiceTokens(ServiceTokenSource):
    """This service's token with the `pii:read` scope the registry's identifiers endpoint requires.

    The kit's ServiceTokenSource mints tokens without scopes; this one adds them (same key, sub and role).
    """

    def __init__(self, issuer: TokenIssuer, *, service_name: str, audience: str, scopes: tuple[str, ...]) -> None:
        super().__init__(issuer, service_name=service_name, audience=audience)
        self._scoped_issuer, self._scope_claim = issuer, " ".join(scopes)
        self._scoped_audience, self._scoped_sub = audience, f"service:{service_name}"
        self._scoped_token, self._scoped_expires = "", 0.0

    def token(self) -> str:
        if time.time() > self._scoped_expires - 60:
            self._scoped_token = self._scoped_issuer.mint(
                sub=self._scoped_sub,
                roles=[Role.SERVICE],
                audience=self._scoped_audience,
                ttl_seconds=300,
                extra={"scope": self._scope_claim},
            )
            self._scoped_expires = time.time() + 300
        return self._scoped_token


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
