"""The registry, asked at send time for the recipients' names and phone numbers (contract C1).

Calls go out with this service's own service token (`carekit.auth.service_client`). The answer is
kept in memory for the batch being sent and never written to this service's tables or logs.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from carekit.auth.service_client import ServiceTokenSource
from carekit.runtime import build_service_tokens
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


def registry_tokens(settings: ServiceSettings) -> ServiceTokenSource | None:
    """This service's token with the `pii:read` scope the registry's identifiers endpoint requires."""
    return build_service_tokens(settings, scopes=(PII_READ,))
