"""Table records → domain values."""

from collections.abc import Mapping
from datetime import date
from typing import Any

from registry.db.tables import HouseholdRecord, LifeEventRecord, PersonRecord
from registry.domain.history import HouseholdIdentity, LifeEvent, LifeEventKind, PersonIdentity
from registry.domain.model import HukouType, Sex


def person_identity(record: PersonRecord) -> PersonIdentity:
    return PersonIdentity(
        id=str(record.id), sex=Sex(record.sex), birth_date=record.birth_date, relation=record.relation,
        mother_id=str(record.mother_id) if record.mother_id else None,
        father_id=str(record.father_id) if record.father_id else None,
    )


def household_identity(record: HouseholdRecord) -> HouseholdIdentity:
    return HouseholdIdentity(id=str(record.id), division_code=record.division_code,
                             hukou_type=HukouType(record.hukou_type),
                             residence_division_code=record.residence_division_code)


def life_event(record: LifeEventRecord) -> LifeEvent:
    return LifeEvent(
        id=str(record.id), kind=LifeEventKind(record.kind), effective_date=record.effective_date,
        household_id=str(record.household_id), person_id=str(record.person_id) if record.person_id else None,
        payload=record.payload, supersedes=str(record.supersedes) if record.supersedes else None,
        recorded_at=record.recorded_at, seq=record.seq or 0,
    )


def person_identity_of_row(row: Mapping[str, Any]) -> PersonIdentity:
    """From a row of `repository.household_rows` (JSON: ids and dates as text)."""
    return PersonIdentity(id=row["id"], sex=Sex(row["sex"]), birth_date=date.fromisoformat(row["birth_date"]),
                          relation=row["relation"], mother_id=row["mother_id"], father_id=row["father_id"])


def life_event_of_row(row: Mapping[str, Any]) -> LifeEvent:
    return LifeEvent(id=row["id"], kind=LifeEventKind(row["kind"]),
                     effective_date=date.fromisoformat(row["effective_date"]), household_id=row["household_id"],
                     person_id=row["person_id"], payload=row["payload"], supersedes=row["supersedes"],
                     seq=row["seq"] or 0)
