"""Outreach (包村包户): assigning villages to caseworkers, the caseworker's worklist, the visit log.

A household is on a caseworker's worklist when it is registered in one of their villages, or lives in
one (migrants are served where they live, 同服务), and the caseworker's own region covers it. Its
categories come from the `household_facts` projection; its last visit from the visit log.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carekit.auth.principal import Principal
from carekit.db.uow import UnitOfWork
from registry.db.tables import HouseholdFactsRecord, HouseholdRecord, VillageAssignmentRecord, VisitRecord
from registry.domain.divisions import DivisionTable
from registry.domain.jurisdiction import covers
from registry.domain.outreach import VisitKind, WorklistEntry, check_villages, check_visit, worklist
from registry.domain.stats import categories_of
from registry.service.search import visible_households


async def villages_of(session: AsyncSession, caseworker: str,
                      principal: Principal | None = None) -> list[str]:
    """The caseworker's villages, sorted; only those inside `principal`'s region when one is given."""
    rows = await session.execute(select(VillageAssignmentRecord.village_code)
                                 .where(VillageAssignmentRecord.caseworker == caseworker)
                                 .order_by(VillageAssignmentRecord.village_code))
    codes = list(rows.scalars())
    return [code for code in codes if principal is None or covers(principal, code)]


async def assign_villages(uow: UnitOfWork, admin: Principal, caseworker: str, codes: list[str],
                          divisions: DivisionTable, today: date) -> list[str]:
    """Make `codes` the caseworker's villages inside the admin's region (PUT semantics).

    Assignments outside the admin's region (made by another region's admin) are left alone and not shown.
    """
    wanted = set(check_villages(codes, divisions, lambda code: covers(admin, code), today))
    current = set(await villages_of(uow.session, caseworker, admin))
    gone = current - wanted
    if gone:
        await uow.session.execute(delete(VillageAssignmentRecord).where(
            VillageAssignmentRecord.caseworker == caseworker, VillageAssignmentRecord.village_code.in_(gone)))
    for code in sorted(wanted - current):
        uow.session.add(VillageAssignmentRecord(caseworker=caseworker, village_code=code,
                                                assigned_by=admin.sub))
    await uow.session.flush()
    return sorted(wanted)


@dataclass(frozen=True)
class WorklistItem:
    entry: WorklistEntry
    address: str


async def worklist_of(session: AsyncSession, principal: Principal, today: date) -> list[WorklistItem]:
    """The calling caseworker's whole worklist, in order (see `registry.domain.outreach`).

    One query over the households of the caseworker's villages (a few hundred to a few thousand); the
    order is computed by the domain function so that it is the one the unit tests pin down.
    """
    villages = await villages_of(session, principal.sub)
    if not villages:
        return []
    last_visit = (select(func.max(VisitRecord.visited_on))
                  .where(VisitRecord.household_id == HouseholdRecord.id).scalar_subquery())
    rows = await session.execute(
        select(HouseholdRecord.id, HouseholdRecord.division_code, HouseholdRecord.residence_division_code,
               HouseholdRecord.address, HouseholdFactsRecord.facts, last_visit.label("last_visit"))
        .outerjoin(HouseholdFactsRecord, HouseholdFactsRecord.household_id == HouseholdRecord.id)
        .where(or_(HouseholdRecord.division_code.in_(villages),
                   HouseholdRecord.residence_division_code.in_(villages)),
               HouseholdRecord.status == "active",
               visible_households(principal)))
    assigned = set(villages)
    addresses: dict[str, str] = {}
    entries: list[tuple[str, str, tuple[str, ...], date | None]] = []
    for household_id, division, residence, address, facts, last in rows:
        # Served where they live: a migrant living in one of the villages is listed under it.
        village = residence if residence in assigned else division
        addresses[str(household_id)] = address
        entries.append((str(household_id), village, categories_of(facts), last))
    return [WorklistItem(entry, addresses[entry.household_id]) for entry in worklist(entries, today)]


@dataclass(frozen=True)
class NewVisit:
    visited_on: date
    kind: VisitKind
    notes: str = ""


async def record_visit(uow: UnitOfWork, principal: Principal, household: HouseholdRecord, visit: NewVisit,
                       today: date) -> VisitRecord:
    """The caller has checked that the household is in their region."""
    check_visit(visit.visited_on, today)
    record = VisitRecord(id=uuid.uuid4(), household_id=household.id, caseworker=principal.sub,
                         visited_on=visit.visited_on, kind=visit.kind.value, notes=visit.notes.strip())
    uow.session.add(record)
    await uow.session.flush()
    await uow.session.refresh(record)
    return record


async def visits_of(session: AsyncSession, household_id: uuid.UUID, *, limit: int,
                    after: dict[str, Any] | None) -> list[VisitRecord]:
    """The household's visits, latest first (by visit date, then id)."""
    stmt = select(VisitRecord).where(VisitRecord.household_id == household_id)
    if after:
        day, last_id = date.fromisoformat(str(after["visited_on"])), uuid.UUID(str(after["id"]))
        stmt = stmt.where(or_(VisitRecord.visited_on < day,
                              (VisitRecord.visited_on == day) & (VisitRecord.id < last_id)))
    stmt = stmt.order_by(VisitRecord.visited_on.desc(), VisitRecord.id.desc()).limit(limit)
    return list((await session.execute(stmt)).scalars())
