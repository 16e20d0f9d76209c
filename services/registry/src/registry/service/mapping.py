"""Table records → domain values."""

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
