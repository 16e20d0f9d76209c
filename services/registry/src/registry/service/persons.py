"""Registering persons (with their PII sealed and blind-indexed) and reading them."""

import uuid
from dataclasses import dataclass, replace
from datetime import date

from carekit.auth.principal import Principal
from carekit.db.uow import UnitOfWork
from carekit.pii import PiiVault
from registry.db import repository
from registry.db.tables import HouseholdRecord, LifeEventRecord, PersonRecord
from registry.domain.errors import FieldError
from registry.domain.history import LifeEventKind
from registry.domain.registration import CheckedPerson, NewPerson, check_new_person
from registry.events.outgoing import PERSON_REGISTERED, registry_event
from registry.service.facts import refresh_facts
from registry.service.mapping import person_identity
from registry.service.names import initials_of, pinyin_of

ID_FIELD, PHONE_FIELD, BANK_FIELD = "id_number", "phone", "bank_card"


class DuplicatePerson(Exception):
    def __init__(self, existing_id: uuid.UUID) -> None:
        super().__init__(str(existing_id))
        self.existing_id = existing_id


@dataclass(frozen=True)
class PersonRegistration:
    household_id: uuid.UUID
    person: NewPerson
    mother_id: uuid.UUID | None = None
    father_id: uuid.UUID | None = None
    registered_on: date | None = None  # None: in the household since birth
    source: str = "caseworker"  # or "partner:<agency>", "import:<job id>"


def id_index(vault: PiiVault, number: str) -> str:
    return vault.index(number.strip().upper(), ID_FIELD)


async def register_person(uow: UnitOfWork, principal: Principal, household: HouseholdRecord,
                          registration: PersonRegistration, vault: PiiVault, today: date) -> PersonRecord:
    mother = await _parent(uow, registration.mother_id, "mother_id")
    father = await _parent(uow, registration.father_id, "father_id")
    new = registration.person
    checked = check_new_person(replace(
        new, mother=person_identity(mother) if mother else None,
        father=person_identity(father) if father else None), today)
    entered_on = registration.registered_on or checked.birth_date
    if entered_on > today or entered_on < checked.birth_date:
        raise FieldError("registered_on", "The registration date must lie between birth and today.",
                         "登记日期应在出生日期与今天之间。")
    index = id_index(vault, checked.resident_id.number) if checked.resident_id else None
    if index is not None and (existing := await repository.person_by_id_index(uow.session, index)):
        raise DuplicatePerson(existing.id)
    record = _record(household.id, checked, index, vault, mother, father)
    uow.session.add(record)
    await uow.session.flush()
    kind = LifeEventKind.REGISTERED if registration.registered_on else LifeEventKind.BIRTH
    uow.session.add(LifeEventRecord(id=uuid.uuid4(), household_id=household.id, person_id=record.id,
                                    kind=kind.value, effective_date=entered_on, recorded_by=principal.sub,
                                    source=registration.source))
    uow.emit(registry_event(PERSON_REGISTERED, str(record.id), person_event_data(record, household)))
    await uow.session.flush()
    await refresh_facts(uow, await repository.households_of_parents(uow.session, record), today)
    return record


async def _parent(uow: UnitOfWork, parent_id: uuid.UUID | None, field: str) -> PersonRecord | None:
    if parent_id is None:
        return None
    parent = await repository.person(uow.session, parent_id)
    if parent is None:
        raise FieldError(field, "No person with this id is registered.", "该人员未登记。")
    return parent


def _record(household_id: uuid.UUID, checked: CheckedPerson, index: str | None, vault: PiiVault,
            mother: PersonRecord | None, father: PersonRecord | None) -> PersonRecord:
    record = PersonRecord(
        id=uuid.uuid4(), household_id=household_id, name=checked.name, name_pinyin=pinyin_of(checked.name),
        name_initials=initials_of(checked.name), sex=checked.sex.value, birth_date=checked.birth_date,
        relation=checked.relation, mother_id=mother.id if mother else None, father_id=father.id if father else None,
        id_number_index=index,
    )
    if checked.resident_id:
        sealed = vault.seal(checked.resident_id.number, ID_FIELD)
        record.id_number_cipher, record.id_number_key_id = sealed.cipher, sealed.key_id
    if checked.phone:
        sealed = vault.seal(checked.phone, PHONE_FIELD)
        record.phone_cipher, record.phone_key_id = sealed.cipher, sealed.key_id
    if checked.bank_card:
        sealed = vault.seal(checked.bank_card, BANK_FIELD)
        record.bank_account_cipher, record.bank_account_key_id = sealed.cipher, sealed.key_id
    return record


def person_event_data(record: PersonRecord, household: HouseholdRecord) -> dict:
    """What other services may know of a person: ids, codes, dates, sex — no name, ID number or phone."""
    return {
        "person_id": str(record.id),
        "household_id": str(record.household_id),
        "division_code": household.division_code,
        "residence_division_code": household.residence_division_code,
        "id_number_index": record.id_number_index,
        "sex": record.sex,
        "birth_date": record.birth_date.isoformat(),
        "relation": record.relation,
        "mother_id": str(record.mother_id) if record.mother_id else None,
        "father_id": str(record.father_id) if record.father_id else None,
        "death_date": record.death_date.isoformat() if record.death_date else None,
    }
