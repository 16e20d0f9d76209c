"""Outreach (包村包户): villages assigned to caseworkers, the caseworker's worklist, the visit log."""

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.deps import PageDep, UowDep
from carekit.http.pagination import Page, next_cursor
from carekit.http.problems import PROBLEM_RESPONSES, forbidden
from registry.api.deps import Caseworker, DivisionsDep, Reader, TodayDep
from registry.api.households import load_visible
from registry.api.schemas import DIVISION_CODE, Day
from registry.db.tables import VisitRecord
from registry.domain.divisions import DivisionTable
from registry.domain.outreach import MAX_NOTES, MAX_VILLAGES, Priority, VisitKind, page_after, worklist_key
from registry.service import outreach

router = APIRouter(tags=["outreach"], responses=PROBLEM_RESPONSES)
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Sub = Annotated[str, Path(min_length=1, max_length=255, description="The caseworker's subject (token `sub`)")]


class VillagesUpdate(BaseModel):
    villages: list[Annotated[str, Field(pattern=DIVISION_CODE)]] = Field(
        max_length=MAX_VILLAGES, description="12-digit village codes; replaces the caseworker's villages inside "
        "your region", examples=[["360702100201"]])


class VillagePublic(BaseModel):
    code: str
    name: str | None = Field(description="From the division code table, as in force today")


class AssignmentPublic(BaseModel):
    caseworker: str
    villages: list[VillagePublic] = Field(description="Only the villages inside the caller's region")


class WorklistItemPublic(BaseModel):
    household_id: uuid.UUID
    village: str = Field(description="The assigned village the household is registered in, or lives in")
    address: str
    categories: list[str] = Field(description="only_child, single_daughter, two_daughters, bereaved, "
                                  "disabled_only_child, migrant, low_income, certificate_held")
    last_visit: date | None
    priority: Priority


class VisitCreate(BaseModel):
    visited_on: Day
    kind: VisitKind
    notes: str = Field(default="", max_length=MAX_NOTES,
                       description="The care given; no pregnancy, contraception or sterilisation details")


class VisitPublic(BaseModel):
    id: uuid.UUID
    household_id: uuid.UUID
    caseworker: str
    visited_on: date
    kind: VisitKind
    notes: str
    created_at: datetime


def _assignment(caseworker: str, codes: list[str], divisions: DivisionTable, today: date) -> AssignmentPublic:
    villages = []
    for code in codes:
        row = divisions.on(code, today) or next(iter(divisions.history(code)[-1:]), None)
        villages.append(VillagePublic(code=code, name=row.name if row else None))
    return AssignmentPublic(caseworker=caseworker, villages=villages)


def _visit(record: VisitRecord) -> VisitPublic:
    return VisitPublic(id=record.id, household_id=record.household_id, caseworker=record.caseworker,
                       visited_on=record.visited_on, kind=VisitKind(record.kind), notes=record.notes,
                       created_at=record.created_at)


@router.put("/v1/caseworkers/{sub}/villages", response_model=AssignmentPublic,
            summary="Set the villages a caseworker is responsible for (admin, inside the admin's region)")
async def put_villages(sub: Sub, body: VillagesUpdate, principal: Admin, uow: UowDep, divisions: DivisionsDep,
                       today: TodayDep) -> AssignmentPublic:
    codes = await outreach.assign_villages(uow, principal, sub, body.villages, divisions, today)
    await uow.commit()
    return _assignment(sub, codes, divisions, today)


@router.get("/v1/caseworkers/{sub}/villages", response_model=AssignmentPublic,
            summary="A caseworker's villages (admins: inside their region; caseworkers: their own)")
async def get_villages(sub: Sub, principal: Caseworker, uow: UowDep, divisions: DivisionsDep,
                       today: TodayDep) -> AssignmentPublic:
    if not principal.has_any(Role.ADMIN) and sub != principal.sub:
        raise forbidden("Caseworkers see only their own villages.", "专干只能查看自己负责的村。")
    codes = await outreach.villages_of(uow.session, sub, principal)
    return _assignment(sub, codes, divisions, today)


@router.get("/v1/worklist", response_model=Page[WorklistItemPublic],
            summary="The calling caseworker's households: bereaved and disabled-only-child first, then those "
                    "not visited this year, then the rest")
async def get_worklist(principal: Caseworker, uow: UowDep, page: PageDep, request: Request,
                       today: TodayDep) -> Page[WorklistItemPublic]:
    items = await outreach.worklist_of(uow.session, principal, today)
    by_id = {item.entry.household_id: item for item in items}
    after = tuple(page.after["k"]) if page.after else None
    entries = page_after([item.entry for item in items], after, page.limit)  # type: ignore[arg-type]
    public = [WorklistItemPublic(household_id=uuid.UUID(e.household_id), village=e.village,
                                 address=by_id[e.household_id].address, categories=list(e.categories),
                                 last_visit=e.last_visit, priority=e.priority) for e in entries]
    cursor = next_cursor(request, entries, page.limit, lambda e: {"k": list(worklist_key(e))})
    return Page(items=public, next_cursor=cursor)


@router.post("/v1/households/{household_id}/visits", status_code=201, response_model=VisitPublic,
             summary="Log a visit to a household (Spring Festival visit, home service, psychological "
                     "support…)")
async def create_visit(household_id: uuid.UUID, body: VisitCreate, principal: Caseworker, uow: UowDep,
                       today: TodayDep) -> VisitPublic:
    household = await load_visible(uow, principal, household_id)
    record = await outreach.record_visit(uow, principal, household,
                                         outreach.NewVisit(body.visited_on, body.kind, body.notes), today)
    public = _visit(record)
    await uow.commit()
    return public


@router.get("/v1/households/{household_id}/visits", response_model=Page[VisitPublic],
            summary="A household's visits, latest first")
async def list_visits(household_id: uuid.UUID, principal: Reader, uow: UowDep, page: PageDep,
                      request: Request) -> Page[VisitPublic]:
    await load_visible(uow, principal, household_id)
    records = await outreach.visits_of(uow.session, household_id, limit=page.limit, after=page.after)
    items = [_visit(r) for r in records]
    return Page(items=items, next_cursor=next_cursor(
        request, items, page.limit, lambda v: {"visited_on": v.visited_on.isoformat(), "id": str(v.id)}))
