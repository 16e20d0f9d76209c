"""Registry-shaped CloudEvents for the entitlements' consumer tests, published to the REGISTRY stream.

The shapes follow the registry's `person_event_data`, its household events and
`registry.household.facts_changed` (see services/registry: events/outgoing.py, service/persons.py,
service/life_events.py, service/facts.py) — written out here, as the entitlements never imports the
registry."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import nats

from carekit.db.engine import asyncpg_dsn
from carekit.events.envelope import EventEnvelope
from carekit.events.streams import ensure_stream, service_stream

SOURCE = "/guanhuai/registry"
VILLAGE = "360702001001"
_clock = [datetime(2026, 1, 1, tzinfo=UTC)]


def tick() -> datetime:
    """Strictly increasing event times (the registry stamps each event when it is made)."""
    _clock[0] = max(_clock[0] + timedelta(milliseconds=1), datetime.now(UTC))
    return _clock[0]


def event(event_type: str, subject: str, data: dict[str, Any], at: datetime | None = None) -> EventEnvelope:
    return EventEnvelope(type=event_type, source=SOURCE, subject=subject, data=data, time=at or tick())


@dataclass
class Person:
    key: str
    sex: str
    birth: date
    relation: str
    mother: Person | None = None
    father: Person | None = None
    death: date | None = None
    index: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Household:
    division: str = VILLAGE
    residence: str | None = None
    hukou: str = "rural"
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def registered(self) -> EventEnvelope:
        return event("registry.household.registered", self.id, {
            "household_id": self.id, "division_code": self.division, "residence_division_code": self.residence,
            "hukou_type": self.hukou, "status": "active"})

    def person_data(self, p: Person) -> dict[str, Any]:
        return {"person_id": p.id, "household_id": self.id, "division_code": self.division,
                "residence_division_code": self.residence, "id_number_index": p.index, "sex": p.sex,
                "birth_date": p.birth.isoformat(), "relation": p.relation,
                "mother_id": p.mother.id if p.mother else None, "father_id": p.father.id if p.father else None,
                "death_date": p.death.isoformat() if p.death else None}

    def person(self, event_type: str, p: Person, at: datetime | None = None, **extra: Any) -> EventEnvelope:
        return event(event_type, p.id, self.person_data(p) | extra, at)

    def facts(self, parents: list[Person], children: list[Person], *, as_of: date, certificate: bool = False,
              low_income_kinds: tuple[str, ...] = (), at: datetime | None = None) -> EventEnvelope:
        living = [c for c in children if c.death is None or c.death > as_of]
        only = children[0] if len(children) == 1 else None
        only_child = len(children) == 1 and len(living) == 1
        facts = {
            "household_id": self.id, "as_of": as_of.isoformat(), "children_ever": len(children),
            "living_children": len(living), "living_sons": sum(c.sex == "male" for c in living),
            "living_daughters": sum(c.sex == "female" for c in living), "only_child": only_child,
            "single_daughter": only_child and only is not None and only.sex == "female",
            "two_daughters": len(children) == 2 and all(c.sex == "female" for c in children),
            "bereaved": only is not None and not (only.death is None or only.death > as_of),
            "disabled_only_child": False,
            "parents": [{"person_id": p.id, "sex": p.sex, "alive": p.death is None, "age": None} for p in parents],
            "youngest_child_birth_date": max((c.birth for c in living), default=None),
            "hukou_type": self.hukou, "migrant": self.residence is not None and self.residence != self.division,
            "low_income": bool(low_income_kinds), "low_income_kinds": list(low_income_kinds),
            "certificate_held": certificate, "certificate_number": "GX-1" if certificate else None,
        }
        if facts["youngest_child_birth_date"] is not None:
            facts["youngest_child_birth_date"] = facts["youngest_child_birth_date"].isoformat()
        return event("registry.household.facts_changed", self.id, {
            "household_id": self.id, "division_code": self.division,
            "residence_division_code": self.residence, "facts": facts}, at)


class Registry:
    """A stand-in producer: publishes events to the REGISTRY stream as the registry's relay does."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.nc: Any = None

    async def __aenter__(self) -> Registry:
        self.nc = await nats.connect(self.url)
        self.js = self.nc.jetstream()
        await ensure_stream(self.js, service_stream("registry"))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.nc.close()

    async def publish(self, *events: EventEnvelope) -> None:
        for e in events:
            await self.js.publish(e.type, e.to_json(), headers={"Nats-Msg-Id": str(e.id)})


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 15.0,  # noqa: ASYNC109
                   what: str = "condition") -> float:
    """Poll until `check` holds; the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if await check():
            return time.monotonic() - start
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


async def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()
