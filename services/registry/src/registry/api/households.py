"""Households: register, read as of a day, change the address, household-level life events, facts."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from carekit.auth.principal import Principal
from carekit.deps import ReadSessionDep, UowDep
from carekit.http.etag import IfMatch, require_if_match, set_etag
from carekit.http.problems import PROBLEM_RESPONSES, not_found
from registry.api.deps import Caseworker, DivisionsDep, FamilyReader, Reader, TodayDep
from registry.api.schemas import (
    Day,
    FactsPublic,
    HouseholdCreate,
    HouseholdEventCreate,
    HouseholdPublic,
    HouseholdUpdate,
    LifeEventPublic,
    MemberPublic,
)
from registry.db import repository
from registry.db.tables import HouseholdRecord
from registry.domain.registration import NewLifeEvent
from registry.service import facts as facts_service
from registry.service.households import (
    NewHousehold,
    change_address,
    citizen_household,
    covers_household,
    register_household,
    visible_to,
)
from registry.service.life_events import record_household_event
from registry.service.views import household_view

router = APIRouter(prefix="/v1/households", tags=["households"], responses=PROBLEM_RESPONSES)
AsOf = Annotated[Day | None, Query(description="Answer as of this day (YYYY-MM-DD); default today")]


async def load_visible(uow: UowDep, principal: Principal, household_id: uuid.UUID,
                       *, lock: bool = False, citizen_own: bool = False) -> HouseholdRecord:
    """The household, or 404 outside the caller's area; `citizen_own`: a citizen may read their own."""
    record = await repository.household(uow.session, household_id, lock=lock)
    if record is None or not (visible_to(principal, record) or (
            citizen_own and await citizen_household(uow.session, principal) == record.id)):
        raise not_found("household", "户")
    return record


async def _public(session: AsyncSession, principal: Principal, household_id: uuid.UUID, day: date,
                  *, citizen_own: bool = False) -> HouseholdPublic:
    await session.flush()  # the read below is one plain statement: it sees only what was flushed
    view = await household_view(session, household_id, day)
    if view is None or not (covers_household(principal, view.division_code, view.current_residence_division_code)
                            or (citizen_own and await citizen_household(session, principal) == view.id)):
        raise not_found("household", "户")
    return HouseholdPublic(
        id=view.id, division_code=view.division_code, hukou_type=view.hukou_type,
        residence_division_code=view.residence_division_code, address=view.address, status=view.status,
        version=view.version, as_of=day,
        members=[MemberPublic(id=m.id, name=m.name, relation=m.relation, sex=m.sex, birth_date=m.birth_date,
                              alive=m.alive) for m in view.members],
    )


@router.post("", status_code=201, response_model=HouseholdPublic, summary="Register a household")
async def create_household(body: HouseholdCreate, principal: Caseworker, uow: UowDep, divisions: DivisionsDep,
                           today: TodayDep, response: Response) -> HouseholdPublic:
    record = await register_household(uow, principal, NewHousehold(**body.model_dump()), divisions, today)
    public = await _public(uow.session, principal, record.id, today)
    await uow.commit()
    set_etag(response, record.id, record.version)
    response.headers["Location"] = f"/v1/households/{record.id}"
    return public


@router.get("/{household_id}", response_model=HouseholdPublic, summary="A household as of a day",
            description="Staff and services: households registered or living in their region. Citizens: the "
                        "household they are registered in (token `sub` = their person id).")
async def get_household(household_id: uuid.UUID, principal: FamilyReader, session: ReadSessionDep,
                        today: TodayDep, response: Response, as_of: AsOf = None) -> HouseholdPublic:
    # One statement, outside any transaction: the hot read (a citizen's own household takes one more).
    public = await _public(session, principal, household_id, as_of or today, citizen_own=True)
    set_etag(response, public.id, public.version)
    return public


@router.patch("/{household_id}", response_model=HouseholdPublic, summary="Change the address (If-Match)")
async def update_household(household_id: uuid.UUID, body: HouseholdUpdate, principal: Caseworker, uow: UowDep,
                           request: Request, response: Response, today: TodayDep,
                           _if_match: IfMatch = None) -> HouseholdPublic:
    record = await load_visible(uow, principal, household_id, lock=True)
    require_if_match(request, record.id, record.version)
    await change_address(uow, record, body.address)
    public = await _public(uow.session, principal, record.id, today)
    await uow.commit()
    set_etag(response, record.id, record.version)
    return public


@router.get("/{household_id}/facts", response_model=FactsPublic, summary="The household's facts as of a day",
            description="Citizens: their own household's only.")
async def get_household_facts(household_id: uuid.UUID, principal: FamilyReader, uow: UowDep, today: TodayDep,
                              as_of: AsOf = None) -> FactsPublic:
    await load_visible(uow, principal, household_id, citizen_own=True)
    facts = await facts_service.facts_of(uow.session, household_id, as_of or today)
    if facts is None:
        raise not_found("family (no head or spouse registered on that day)", "家庭（当日无户主或配偶登记）")
    return FactsPublic(**facts_service.facts_json(facts))


@router.post("/{household_id}/events", status_code=201, response_model=LifeEventPublic,
             summary="Record a household event: residence change, certificate issued or revoked")
async def create_household_event(household_id: uuid.UUID, body: HouseholdEventCreate, principal: Caseworker,
                                 uow: UowDep, today: TodayDep, divisions: DivisionsDep) -> LifeEventPublic:
    record = await load_visible(uow, principal, household_id, lock=True)
    event = await record_household_event(uow, principal, record,
                                         NewLifeEvent(body.kind, body.effective_date, body.payload()),
                                         supersedes=body.supersedes, today=today, divisions=divisions)
    public = LifeEventPublic.model_validate(event, from_attributes=True)
    await uow.commit()
    return public


@router.get("/{household_id}/events", response_model=list[LifeEventPublic], summary="The household's life events")
async def list_household_events(household_id: uuid.UUID, principal: Reader, uow: UowDep) -> list[LifeEventPublic]:
    await load_visible(uow, principal, household_id)
    events = await repository.events_of(uow.session, household_id=household_id)
    return [LifeEventPublic.model_validate(e, from_attributes=True) for e in events]
