"""The registry (contract C1): asked at send time for payees' names, bank cards and whether they are
alive, and at application time for a household's region and members.

Calls carry this service's own token with the `pii:read` scope. Names and cards are kept in memory
for the chunk being sent and never written to this service's tables, events or logs (only the
masked name for public posting is stored).
"""

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import httpx

from carekit.auth.service_client import ServiceTokenSource, service_http_client
from carekit.runtime import build_service_tokens
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


@dataclass(frozen=True)
class Household:
    """What the registry says of a household today: where it is registered and who lives in it."""

    id: uuid.UUID
    division_code: str
    residence_division_code: str | None
    living_members: frozenset[uuid.UUID]


class RegistryUnavailable(Exception):
    """The registry did not answer as it should; the payments stay where they are and are tried again."""


def registry_tokens(settings: ServiceSettings) -> ServiceTokenSource | None:
    """This service's token with the `pii:read` scope the registry's identifiers endpoint requires."""
    return build_service_tokens(settings, scopes=(PII_READ,))


class TtlCache:
    """A few answers kept for a short while, the oldest dropped first beyond `size`."""

    def __init__(self, seconds: float, size: int) -> None:
        self._seconds, self._size = seconds, size
        self._items: OrderedDict[object, tuple[float, object]] = OrderedDict()

    def get(self, key: object) -> object | None:
        found = self._items.get(key)
        if found is None or found[0] < time.monotonic():
            self._items.pop(key, None)
            return None
        return found[1]

    def put(self, key: object, value: object) -> None:
        self._items[key] = (time.monotonic() + self._seconds, value)
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


HOUSEHOLD_CACHE_SECONDS = 30.0
HOUSEHOLD_CACHE_SIZE = 2048
HOUSEHOLD_TIMEOUT_SECONDS = 5.0


class RegistryClient:
    def __init__(self, client: httpx.AsyncClient, chunk_size: int = BATCH_LIMIT) -> None:
        self._client = client
        self._chunk = min(chunk_size, BATCH_LIMIT)
        # only households found are kept: one registered a moment ago is seen at once
        self._households = TtlCache(HOUSEHOLD_CACHE_SECONDS, HOUSEHOLD_CACHE_SIZE)

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

    async def household(self, household_id: uuid.UUID) -> Household | None:
        """The household as the registry knows it today (None: it does not know it), asked with this
        service's token, which sees every region; answers are kept for half a minute."""
        cached = self._households.get(household_id)
        if isinstance(cached, Household):
            return cached
        try:
            response = await self._client.get(f"/v1/households/{household_id}", timeout=HOUSEHOLD_TIMEOUT_SECONDS)
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(type(exc).__name__) from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise RegistryUnavailable(f"registry answered {response.status_code}")
        body = response.json()
        found = Household(
            household_id,
            body["division_code"],
            body.get("residence_division_code"),
            frozenset(uuid.UUID(m["id"]) for m in body["members"] if m.get("alive", True)),
        )
        self._households.put(household_id, found)
        return found

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
