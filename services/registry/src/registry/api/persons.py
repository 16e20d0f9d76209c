"""Persons: register (409 on a known ID number), read as of a day (masked unless revealed with a
purpose, and audited), and record life events."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from carekit.auth.principal import Principal
from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, ProblemError, forbidden, not_found
from registry.api.deps import Caseworker, FamilyReader, Reader, TodayDep, VaultDep
from registry.api.merged import MERGED_RESPONSES, raise_if_merged
from registry.api.households import load_visible
from registry.api.schemas import Day, LifeEventPublic, PersonEventCreate, PersonCreate, PersonPublic
from registry.db import repository
from registry.db.tables import PersonRecord
from registry.domain.jurisdiction import citizen_person_id
from registry.domain.registration import NewLifeEvent, NewPerson
from registry.service.life_events import record_person_event
from registry.service.households import visible_person
from registry.service.persons import PersonRegistration, register_person
from registry.service.pii_reads import PiiNotPermitted, identifiers
from registry.service.views import person_on

router = APIRouter(prefix="/v1/persons", tags=["persons"], responses=PROBLEM_RESPONSES)


async def load_person(uow: UowDep, principal: Principal, person_id: uuid.UUID, *, lock: bool = False,
                      allow_merged: bool = False, citizen_self: bool = False) -> PersonRecord:
    """The person, or 404 outside the caller's area; `citizen_self`: a citizen may read themselves."""
    person = await repository.person(uow.session, person_id, lock=lock)
    if person is None:
        raise not_found("person", "人员")
    if not (citizen_self and citizen_person_id(principal) == person.id):
        await load_visible(uow, principal, person.household_id)  # 404 outside the caller's region
    if not allow_merged:
        raise_if_merged(person)  # 410, pointing to the record it was merged into
    return person


async def _named_persons(uow: UowDep, principal: Principal, **named: uuid.UUID | None) -> None:
    """Parents, spouses, adoptive parents named in a body must be in the caller's area (else 422, as unknown)."""
    for field, person_id in named.items():
        if person_id is not None:
            await visible_person(uow.session, principal, person_id, field=field)


async def _public(uow: UowDep, vault: VaultDep, principal: Principal, person: PersonRecord, day: date,
                  *, reveal: bool = False, purpose: str | None = None) -> PersonPublic:
    view = await person_on(uow.session, person, day)
    try:
        ids = await identifiers(uow, vault, principal, person, reveal=reveal, purpose=purpose)
    except PiiNotPermitted as exc:
        raise forbidden("Unmasked identifiers need the pii:read permission.",
                        "查看完整身份信息需要 pii:read 权限。") from exc
    return PersonPublic(
        id=person.id, household_id=view.household_id, name=person.name, sex=person.sex,
        birth_date=person.birth_date, relation=person.relation, mother_id=person.mother_id,
        father_id=person.father_id, id_number=ids.id_number, phone=ids.phone, bank_card=ids.bank_card,
        revealed=ids.revealed, alive=view.alive, death_date=view.death_date,
        disability_grade=view.disability_grade, low_income=view.low_income, as_of=day, version=person.version,
    )


@router.post("", status_code=201, response_model=PersonPublic, summary="Register a person in a household")
async def create_person(body: PersonCreate, principal: Caseworker, uow: UowDep, vault: VaultDep, today: TodayDep,
                        response: Response) -> PersonPublic:
    household = await load_visible(uow, principal, body.household_id, lock=True)
    await _named_persons(uow, principal, mother_id=body.mother_id, father_id=body.father_id)
    new = NewPerson(name=body.name, relation=body.relation, id_number=body.id_number, sex=body.sex,
                    birth_date=body.birth_date, phone=body.phone, bank_card=body.bank_card)
    registration = PersonRegistration(household.id, new, body.mother_id, body.father_id, body.registered_on)
    person = await register_person(uow, principal, household, registration, vault, today)
    public = await _public(uow, vault, principal, person, today)
    await uow.commit()
    response.headers["Location"] = f"/v1/persons/{person.id}"
    return public


@router.get("/{person_id:uuid}", response_model=PersonPublic, summary="A person as of a day",
            description="Staff and services: persons of households in their region. Citizens: themselves only "
                        "(token `sub` = their person id), masked. A merged record answers 410.",
            responses=MERGED_RESPONSES)
async def get_person(
    person_id: uuid.UUID, principal: FamilyReader, uow: UowDep, vault: VaultDep, today: TodayDep,
    as_of: Annotated[Day | None, Query(description="Answer as of this day (YYYY-MM-DD); default today")] = None,
    reveal: Annotated[bool, Query(description="Unmask identifiers (needs pii:read and a purpose)")] = False,
    purpose: Annotated[str | None, Query(min_length=4, max_length=200, pattern=r"\S(?:\s*\S){3}",
                                         description="Why the identifiers are needed (at least 4 characters "
                                                     "besides spaces; required with reveal)")] = None,
) -> PersonPublic:
    if reveal and (purpose is None or len(purpose.strip()) < 4):
        raise ProblemError(422, "purpose-required", "Purpose required",
                           "State why you need the unmasked identifiers (purpose, at least 4 characters).",
                           "须说明用途", "请说明查看完整身份信息的用途（purpose，至少4个字符）。")
    person = await load_person(uow, principal, person_id, citizen_self=True)
    public = await _public(uow, vault, principal, person, as_of or today, reveal=reveal, purpose=purpose)
    if reveal:
        await uow.commit()  # the audit row
    return public


@router.post("/{person_id:uuid}/events", status_code=201, response_model=LifeEventPublic,
             summary="Record a life event: birth, death, disability, marriage, move, low income, adoption…",
             responses=MERGED_RESPONSES)
async def create_person_event(person_id: uuid.UUID, body: PersonEventCreate, principal: Caseworker, uow: UowDep,
                              today: TodayDep) -> LifeEventPublic:
    person = await load_person(uow, principal, person_id, lock=True)
    await _named_persons(uow, principal, spouse_id=body.spouse_id, parent_id=body.parent_id)
    moved_to = await load_visible(uow, principal, body.household_id) if body.household_id else None
    event = await record_person_event(uow, principal, person,
                                      NewLifeEvent(body.kind, body.effective_date, body.payload()),
                                      supersedes=body.supersedes, moved_to=moved_to, today=today)
    public = LifeEventPublic.model_validate(event, from_attributes=True)
    await uow.commit()
    return public


@router.get("/{person_id:uuid}/events", response_model=list[LifeEventPublic], summary="The person's life events")
async def list_person_events(person_id: uuid.UUID, principal: Reader, uow: UowDep) -> list[LifeEventPublic]:
    await load_person(uow, principal, person_id, allow_merged=True)  # a merged record's history stays readable
    return [LifeEventPublic.model_validate(e, from_attributes=True)
            for e in await repository.events_of(uow.session, person_id=person_id)]
