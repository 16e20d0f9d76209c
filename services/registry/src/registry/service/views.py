"""Read models: a person or household as it stood on a day (as-of reads replay life events)."""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.db import repository
from registry.db.tables import HouseholdRecord, PersonRecord
from registry.domain.history import HouseholdIdentity, household_on, household_on_record, person_on_record
from registry.domain.model import HukouType, LowIncomeKind
from registry.service.mapping import (
    household_identity,
    life_event,
    life_event_of_row,
    person_identity,
    person_identity_of_row,
)


@dataclass(frozen=True)
class PersonOnDay:
    record: PersonRecord
    household_id: uuid.UUID | None
    alive: bool
    death_date: date | None
    disability_grade: int | None
    low_income: list[LowIncomeKind]


@dataclass(frozen=True)
class HouseholdOnDay:
    record: HouseholdRecord
    residence_division_code: str | None
    members: list[tuple[PersonRecord, bool]]  # (person, alive on the day)


async def person_on(session: AsyncSession, record: PersonRecord, day: date) -> PersonOnDay:
    events = [life_event(e) for e in await repository.events_of(session, person_id=record.id)]
    person = person_on_record(person_identity(record), events)
    home = household_on(str(record.id), events, day)
    died = person.death_date if person.death_date and person.death_date <= day else None
    return PersonOnDay(
        record=record,
        household_id=uuid.UUID(home) if home else None,
        alive=person.alive_on(day),
        death_date=died,
        disability_grade=person.disability_grade_on(day),
        low_income=sorted({s.kind for s in person.low_income if s.in_force_on(day)}),
    )


async def household_on_day(session: AsyncSession, record: HouseholdRecord, day: date) -> HouseholdOnDay:
    bundle = await repository.household_bundle(session, record.id)
    events = [life_event(e) for e in bundle.events]
    identities = {str(p.id): p for p in bundle.persons}
    household = household_on_record(household_identity(record), events,
                                    [person_identity(p) for p in bundle.persons], day)
    members = []
    for member_id in household.member_ids:
        person = person_on_record(person_identity(identities[member_id]), events)
        members.append((identities[member_id], person.alive_on(day)))
    return HouseholdOnDay(record, household.residence_division_code, members)


async def household_of_person(session: AsyncSession, person: PersonRecord) -> HouseholdRecord | None:
    return (await session.execute(select(HouseholdRecord).where(HouseholdRecord.id == person.household_id))
            ).scalar_one_or_none()


@dataclass(frozen=True)
class MemberOnDay:
    id: uuid.UUID
    name: str
    relation: str
    sex: str
    birth_date: date
    alive: bool


@dataclass(frozen=True)
class HouseholdView:
    """A household as it stood on a day, read in one statement (`repository.household_rows`)."""

    id: uuid.UUID
    division_code: str
    hukou_type: str
    residence_division_code: str | None  # as of the day
    current_residence_division_code: str | None  # decides who may see it, like `visible_to`
    address: str
    status: str
    version: int
    members: list[MemberOnDay]


async def household_view(session: AsyncSession, household_id: uuid.UUID, day: date) -> HouseholdView | None:
    rows = await repository.household_rows(session, household_id)
    if rows is None:
        return None
    h = rows.household
    events = [life_event_of_row(e) for e in rows.events]
    by_id = {p["id"]: p for p in rows.persons}
    identity = HouseholdIdentity(id=str(h["id"]), division_code=h["division_code"],
                                 hukou_type=HukouType(h["hukou_type"]),
                                 residence_division_code=h["residence_division_code"])
    household = household_on_record(identity, events, [person_identity_of_row(p) for p in rows.persons], day)
    members = []
    for member_id in household.member_ids:
        row = by_id[member_id]
        alive = person_on_record(person_identity_of_row(row), events).alive_on(day)
        members.append(MemberOnDay(uuid.UUID(member_id), row["name"], row["relation"], row["sex"],
                                   date.fromisoformat(row["birth_date"]), alive))
    return HouseholdView(h["id"], h["division_code"], h["hukou_type"], household.residence_division_code,
                         h["residence_division_code"], h["address"], h["status"], h["version"], members)
