"""Recording life events (a correction is a new event, never an overwrite) and keeping the
current-state projections and household facts in step."""

import uuid
from datetime import date

from sqlalchemy import select

from carekit.auth.principal import Principal
from carekit.db.uow import UnitOfWork
from registry.db import repository
from registry.db.tables import CertificateRecord, HouseholdRecord, LifeEventRecord, PersonRecord
from registry.domain.divisions import DivisionTable
from registry.domain.errors import FieldError
from registry.domain.history import LifeEventKind, household_on, in_force, person_on_record
from registry.domain.registration import NewLifeEvent, check_life_event
from registry.events import outgoing as ev
from registry.service.facts import refresh_facts
from registry.service.mapping import life_event, person_identity
from registry.service.persons import person_event_data

HOUSEHOLD_KINDS = frozenset({LifeEventKind.RESIDENCE_CHANGED, LifeEventKind.CERTIFICATE_ISSUED,
                             LifeEventKind.CERTIFICATE_REVOKED, LifeEventKind.RETRACTED})
EVENT_TYPE = {
    LifeEventKind.DEATH: ev.PERSON_DIED,
    LifeEventKind.DISABILITY_ASSESSED: ev.PERSON_DISABILITY_CHANGED,
    LifeEventKind.MOVED_IN: ev.PERSON_MOVED,
    LifeEventKind.MOVED_OUT: ev.PERSON_MOVED,
    LifeEventKind.LOW_INCOME_CHANGED: ev.LOW_INCOME_CHANGED,
    LifeEventKind.CERTIFICATE_ISSUED: ev.CERTIFICATE_ISSUED,
    LifeEventKind.CERTIFICATE_REVOKED: ev.CERTIFICATE_REVOKED,
    LifeEventKind.RESIDENCE_CHANGED: ev.HOUSEHOLD_UPDATED,
}


async def record_person_event(uow: UnitOfWork, principal: Principal, person: PersonRecord, new: NewLifeEvent,
                              *, supersedes: uuid.UUID | None, moved_to: HouseholdRecord | None,
                              today: date, source: str = "caseworker") -> LifeEventRecord:
    if new.kind is LifeEventKind.RESIDENCE_CHANGED:
        raise FieldError("kind", "A residence change is recorded on the household.", "居住地变更应登记在户上。")
    if new.kind is LifeEventKind.MOVED_IN and moved_to is None:
        raise FieldError("household_id", "Moving in needs the household moved into.", "迁入须指明迁入的户。")
    payload = check_life_event(new, subject=person_identity(person), death_date=person.death_date, today=today)
    await _check_supersedes(uow, new.kind, supersedes, person_id=person.id, household_id=None)
    household_id = moved_to.id if moved_to else person.household_id
    before = await repository.households_of_parents(uow.session, person)
    record = LifeEventRecord(id=uuid.uuid4(), household_id=household_id, person_id=person.id, kind=new.kind.value,
                             effective_date=new.effective_date, recorded_by=principal.sub, source=source,
                             payload=payload, supersedes=supersedes)
    uow.session.add(record)
    await uow.session.flush()
    await _project_person(uow, person, today)
    household = await repository.household(uow.session, person.household_id)
    uow.emit(ev.registry_event(EVENT_TYPE.get(new.kind, ev.PERSON_UPDATED), str(person.id), {
        **person_event_data(person, household), "life_event_id": str(record.id), "kind": new.kind.value,
        "effective_date": new.effective_date.isoformat(), **_public_payload(new.kind, payload)}))
    after = await repository.households_of_parents(uow.session, person)
    await refresh_facts(uow, before | after, today)
    return record


async def record_household_event(uow: UnitOfWork, principal: Principal, household: HouseholdRecord,
                                 new: NewLifeEvent, *, supersedes: uuid.UUID | None, today: date,
                                 divisions: DivisionTable) -> LifeEventRecord:
    if new.kind not in HOUSEHOLD_KINDS:
        raise FieldError("kind", "This kind of event is recorded on a person.", "此类事件应登记在个人上。")
    payload = check_life_event(new, subject=None, death_date=None, today=today)
    if payload.get("residence_division_code"):  # as when the household is registered
        divisions.require(payload["residence_division_code"], new.effective_date, "residence_division_code")
    if new.kind is LifeEventKind.CERTIFICATE_ISSUED:
        await _check_certificate_free(uow, payload["number"], household.id)
    await _check_supersedes(uow, new.kind, supersedes, person_id=None, household_id=household.id)
    record = LifeEventRecord(id=uuid.uuid4(), household_id=household.id, kind=new.kind.value,
                             effective_date=new.effective_date, recorded_by=principal.sub, payload=payload,
                             supersedes=supersedes)
    uow.session.add(record)
    await uow.session.flush()
    await _project_household(uow, household)
    uow.emit(ev.registry_event(EVENT_TYPE.get(new.kind, ev.HOUSEHOLD_UPDATED), str(household.id), {
        "household_id": str(household.id), "division_code": household.division_code,
        "residence_division_code": household.residence_division_code, "life_event_id": str(record.id),
        "kind": new.kind.value, "effective_date": new.effective_date.isoformat(), **payload}))
    await refresh_facts(uow, {household.id}, today)
    return record


async def _check_supersedes(uow: UnitOfWork, kind: LifeEventKind, supersedes: uuid.UUID | None, *,
                            person_id: uuid.UUID | None, household_id: uuid.UUID | None) -> None:
    if supersedes is None:
        if kind is LifeEventKind.RETRACTED:
            raise FieldError("supersedes", "A retraction names the event it retracts.", "撤销须指明被撤销的事件。")
        return
    target = await uow.session.get(LifeEventRecord, supersedes)
    same_subject = target is not None and (
        target.person_id == person_id if person_id else (target.household_id == household_id and
                                                         target.person_id is None))
    if not same_subject:
        raise FieldError("supersedes", "No such event of this person or household.", "该人员或户没有此事件。")
    if kind is not LifeEventKind.RETRACTED and target.kind != kind.value:
        raise FieldError("supersedes", "A correction must be of the same kind as the event it corrects.",
                         "更正事件的类别须与原事件相同。")
    taken = await uow.session.execute(select(LifeEventRecord.id).where(LifeEventRecord.supersedes == supersedes))
    if taken.first() is not None:
        raise FieldError("supersedes", "This event was already corrected; correct the correction.",
                         "该事件已被更正，请更正最新的记录。")


async def _check_certificate_free(uow: UnitOfWork, number: str, household_id: uuid.UUID) -> None:
    """A certificate number is held by one household (which one is not said: it may be outside the region)."""
    holder = await uow.session.scalar(select(CertificateRecord.household_id).where(CertificateRecord.number == number))
    if holder is not None and holder != household_id:
        raise FieldError("certificate_number", "This certificate number is held by another household.",
                         "该光荣证号已由其他户持有。")  # as the import says it


async def _project_person(uow: UnitOfWork, person: PersonRecord, today: date) -> None:
    events = [life_event(e) for e in await repository.events_of(uow.session, person_id=person.id)]
    person.death_date = person_on_record(person_identity(person), events).death_date
    current = household_on(str(person.id), events, today)
    if current is not None:
        person.household_id = uuid.UUID(current)
    person.version += 1
    uow.session.add(person)


async def _project_household(uow: UnitOfWork, household: HouseholdRecord) -> None:
    events = in_force(life_event(e) for e in await repository.events_of(uow.session, household_id=household.id)
                      if e.person_id is None)
    residences = [e for e in events if e.kind is LifeEventKind.RESIDENCE_CHANGED]
    if residences:
        household.residence_division_code = residences[-1].payload.get("residence_division_code")
    await _project_certificates(uow, household.id, events)
    household.version += 1
    uow.session.add(household)


async def _project_certificates(uow: UnitOfWork, household_id: uuid.UUID, events: list) -> None:
    issued = {e.payload["number"]: e.effective_date for e in events if e.kind is LifeEventKind.CERTIFICATE_ISSUED}
    revoked = {e.payload["number"]: e.effective_date for e in events if e.kind is LifeEventKind.CERTIFICATE_REVOKED}
    existing = {c.number: c for c in (await uow.session.execute(
        select(CertificateRecord).where(CertificateRecord.household_id == household_id))).scalars()}
    for number in set(existing) - set(issued):
        await uow.session.delete(existing[number])
    for number, issued_on in issued.items():
        record = existing.get(number) or CertificateRecord(id=uuid.uuid4(), household_id=household_id, number=number,
                                                           issued_on=issued_on)
        record.issued_on, record.revoked_on = issued_on, revoked.get(number)
        uow.session.add(record)


def _public_payload(kind: LifeEventKind, payload: dict) -> dict:
    return {"grade": payload["grade"]} if kind is LifeEventKind.DISABILITY_ASSESSED else {
        k: v for k, v in payload.items() if k in ("kind", "in_force", "to_division_code", "spouse_id", "parent_id",
                                                   "role", "number")}
