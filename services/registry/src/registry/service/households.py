"""Registering and reading households."""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from carekit.auth.principal import Principal
from carekit.db.uow import UnitOfWork
from registry.db import repository
from registry.db.tables import HouseholdRecord, LifeEventRecord, PersonRecord
from registry.domain.divisions import DivisionTable
from registry.domain.errors import FieldError
from registry.domain.history import LifeEventKind
from registry.domain.jurisdiction import citizen_person_id, covers, covers_household
from registry.domain.model import HukouType
from registry.events.outgoing import HOUSEHOLD_REGISTERED, HOUSEHOLD_UPDATED, registry_event


class OutsideRegion(Exception):
    """The caller may not act on this division code (answered as 404 or 422 by the views)."""


@dataclass(frozen=True)
class NewHousehold:
    division_code: str
    hukou_type: HukouType
    address: str = ""
    residence_division_code: str | None = None
    registered_on: date | None = None


def visible_to(principal: Principal, record: HouseholdRecord) -> bool:
    """Households registered in the caller's area, and migrants living there (同服务); see
    `registry.domain.jurisdiction`."""
    return covers_household(principal, record.division_code, record.residence_division_code)


async def citizen_household(session: AsyncSession, principal: Principal) -> uuid.UUID | None:
    """The household a citizen caller is registered in today, or None (not a citizen, or unknown)."""
    person_id = citizen_person_id(principal)
    person = await repository.person(session, person_id) if person_id else None
    return person.household_id if person is not None and person.merged_into is None else None


async def visible_person(session: AsyncSession, principal: Principal, person_id: uuid.UUID, *,
                         field: str, lock: bool = False) -> PersonRecord:
    """A person named in a request body (a parent, a spouse, the person a report is about), or FieldError
    naming `field`: outside the caller's area is answered as unknown."""
    person = await repository.person(session, person_id, lock=lock)
    household = await repository.household(session, person.household_id) if person else None
    if person is None or household is None or not visible_to(principal, household):
        raise FieldError(field, "No person with this id is registered in your region.", "您的辖区内没有登记该人员。")
    return person


async def register_household(uow: UnitOfWork, principal: Principal, new: NewHousehold, divisions: DivisionTable,
                             today: date) -> HouseholdRecord:
    registered_on = new.registered_on or today
    if registered_on > today:
        raise FieldError("registered_on", "The registration date is in the future.", "登记日期不能晚于今天。")
    divisions.require(new.division_code, registered_on)
    if new.residence_division_code:
        divisions.require(new.residence_division_code, registered_on, "residence_division_code")
    if not covers(principal, new.division_code):
        raise FieldError("division_code", "This division is outside your region.", "该区划不在您的辖区内。")
    record = HouseholdRecord(
        id=uuid.uuid4(), division_code=new.division_code, hukou_type=new.hukou_type.value,
        residence_division_code=new.residence_division_code or None, address=new.address.strip(),
        created_by=principal.sub,
    )
    uow.session.add(record)
    await uow.session.flush()
    if new.residence_division_code:
        uow.session.add(LifeEventRecord(
            id=uuid.uuid4(), household_id=record.id, kind=LifeEventKind.RESIDENCE_CHANGED.value,
            effective_date=registered_on, recorded_by=principal.sub,
            payload={"residence_division_code": new.residence_division_code}))
    uow.emit(registry_event(HOUSEHOLD_REGISTERED, str(record.id), _household_data(record)))
    return record


async def change_address(uow: UnitOfWork, record: HouseholdRecord, address: str) -> HouseholdRecord:
    """The caller has checked the version (If-Match) and the region."""
    record.address = address.strip()
    record.version += 1
    uow.session.add(record)
    uow.emit(registry_event(HOUSEHOLD_UPDATED, str(record.id), _household_data(record)))
    return record


def _household_data(record: HouseholdRecord) -> dict:
    return {"household_id": str(record.id), "division_code": record.division_code,
            "residence_division_code": record.residence_division_code, "hukou_type": record.hukou_type,
            "status": record.status}
