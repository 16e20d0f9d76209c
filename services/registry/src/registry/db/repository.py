"""Queries the registry's services share. Functions take a session and return table records."""

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db.tables import HouseholdRecord, LifeEventRecord, PersonRecord


@dataclass
class HouseholdBundle:
    """A household with everyone its facts depend on and all their life events."""

    household: HouseholdRecord
    persons: list[PersonRecord]
    events: list[LifeEventRecord]


async def household(session: AsyncSession, household_id: uuid.UUID, *, lock: bool = False) -> HouseholdRecord | None:
    stmt = select(HouseholdRecord).where(HouseholdRecord.id == household_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def person(session: AsyncSession, person_id: uuid.UUID, *, lock: bool = False) -> PersonRecord | None:
    stmt = select(PersonRecord).where(PersonRecord.id == person_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def person_by_id_index(session: AsyncSession, index: str) -> PersonRecord | None:
    stmt = select(PersonRecord).where(PersonRecord.id_number_index == index)
    return (await session.execute(stmt)).scalar_one_or_none()


async def events_of(session: AsyncSession, *, person_id: uuid.UUID | None = None,
                    household_id: uuid.UUID | None = None) -> list[LifeEventRecord]:
    stmt = select(LifeEventRecord).order_by(LifeEventRecord.effective_date, LifeEventRecord.seq)
    if person_id is not None:
        stmt = stmt.where(LifeEventRecord.person_id == person_id)
    if household_id is not None:
        stmt = stmt.where(LifeEventRecord.household_id == household_id)
    return list((await session.execute(stmt)).scalars())


async def household_bundle(session: AsyncSession, household_id: uuid.UUID) -> HouseholdBundle | None:
    found = await household(session, household_id)
    if found is None:
        return None
    # Ids first, then `IN (list)`: an `OR id IN (subquery)` makes PostgreSQL scan whole tables.
    ever_here = list((await session.execute(select(LifeEventRecord.person_id).distinct().where(
        LifeEventRecord.household_id == household_id, LifeEventRecord.person_id.is_not(None)))).scalars())
    members = list((await session.execute(select(PersonRecord).where(
        or_(PersonRecord.household_id == household_id, PersonRecord.id.in_(ever_here)),
        PersonRecord.merged_into.is_(None)))).scalars())
    parent_ids = [p.id for p in members]
    children: list[PersonRecord] = []
    if parent_ids:
        adopted = list((await session.execute(select(LifeEventRecord.person_id).where(
            LifeEventRecord.kind == "adopted",
            LifeEventRecord.payload["parent_id"].astext.in_([str(i) for i in parent_ids])))).scalars())
        children = list((await session.execute(select(PersonRecord).where(
            or_(PersonRecord.mother_id.in_(parent_ids), PersonRecord.father_id.in_(parent_ids),
                PersonRecord.id.in_(adopted)), PersonRecord.merged_into.is_(None)))).scalars())
    persons = {p.id: p for p in sorted(members + children, key=lambda p: p.id)}
    events = list((await session.execute(select(LifeEventRecord).where(
        or_(LifeEventRecord.person_id.in_(list(persons)), LifeEventRecord.household_id == household_id)
    ).order_by(LifeEventRecord.effective_date, LifeEventRecord.seq))).scalars())
    return HouseholdBundle(found, list(persons.values()), events)


async def households_of_parents(session: AsyncSession, person: PersonRecord) -> set[uuid.UUID]:
    """The households whose facts may change when this person changes: theirs and their parents'."""
    affected = {person.household_id}
    parent_ids = [pid for pid in (person.mother_id, person.father_id) if pid]
    adoptive = await session.execute(select(LifeEventRecord.payload).where(
        LifeEventRecord.person_id == person.id, LifeEventRecord.kind == "adopted"))
    parent_ids += [uuid.UUID(p["parent_id"]) for p in adoptive.scalars()]
    if parent_ids:
        rows = await session.execute(select(PersonRecord.household_id).where(
            PersonRecord.id.in_(parent_ids), PersonRecord.merged_into.is_(None)))
        affected |= set(rows.scalars())
    return affected


@dataclass(frozen=True)
class HouseholdRows:
    """A household read in one round trip: its row, everyone ever registered in it (unmerged) and the
    life events of the household and of those persons. Plain values (ids as text), no ORM objects."""

    household: dict[str, Any]
    persons: list[dict[str, Any]]
    events: list[dict[str, Any]]


_EVENT_COLUMNS = "e.id, e.kind, e.effective_date, e.household_id, e.person_id, e.payload, e.supersedes, e.seq"
HOUSEHOLD_READ = text(f"""
WITH ever AS (
    SELECT id FROM persons WHERE household_id = :hid
    UNION SELECT person_id FROM life_events WHERE household_id = :hid AND person_id IS NOT NULL
), people AS (
    SELECT p.id, p.name, p.sex, p.birth_date, p.relation, p.mother_id, p.father_id
    FROM persons p JOIN ever ON ever.id = p.id WHERE p.merged_into IS NULL
), ev AS (
    SELECT {_EVENT_COLUMNS} FROM life_events e WHERE e.household_id = :hid
    UNION ALL
    SELECT {_EVENT_COLUMNS} FROM life_events e JOIN people p ON e.person_id = p.id WHERE e.household_id <> :hid
)
SELECT h.id, h.division_code, h.hukou_type, h.residence_division_code, h.address, h.status, h.version,
       (SELECT coalesce(json_agg(people), '[]') FROM people)::text AS persons,
       (SELECT coalesce(json_agg(ev ORDER BY ev.effective_date, ev.seq), '[]') FROM ev)::text AS events
FROM households h WHERE h.id = :hid
""")


async def household_rows(session: AsyncSession, household_id: uuid.UUID) -> HouseholdRows | None:
    """One statement instead of an ORM load per table (the household read is the hottest path)."""
    row = (await session.execute(HOUSEHOLD_READ, {"hid": household_id})).mappings().one_or_none()
    if row is None:
        return None
    household = {k: row[k] for k in ("id", "division_code", "hukou_type", "residence_division_code", "address",
                                     "status", "version")}
    return HouseholdRows(household, json.loads(row["persons"]), json.loads(row["events"]))
