"""`GET /v1/audit`: who read which person's unmasked identifiers, when and why (auditors)."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import or_, select

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.deps import PageDep, UowDep
from carekit.http.pagination import Page, next_cursor
from carekit.http.problems import PROBLEM_RESPONSES
from registry.db.tables import AuditRecord

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=PROBLEM_RESPONSES)
Auditor = Annotated[Principal, Depends(require_roles(Role.AUDITOR))]


class AuditPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    person_id: uuid.UUID | None = Field(description="The person read; null for a batched read")
    person_ids: list[uuid.UUID] = Field(description="Batched read: the persons read")
    person_count: int
    purpose: str
    fields: list[str]


@router.get("", response_model=Page[AuditPublic], summary="Unmasked reads of personal identifiers, newest first")
async def list_audit(principal: Auditor, uow: UowDep, page: PageDep, request: Request,
                     person_id: Annotated[uuid.UUID | None, Query()] = None,
                     actor: Annotated[str | None, Query(max_length=128)] = None) -> Page[AuditPublic]:
    stmt = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(page.limit)
    if page.after:
        stmt = stmt.where(AuditRecord.id < int(page.after["id"]))
    if person_id:
        stmt = stmt.where(or_(AuditRecord.person_id == person_id, AuditRecord.person_ids.contains([person_id])))
    if actor:
        stmt = stmt.where(AuditRecord.actor == actor)
    rows = (await uow.session.execute(stmt)).scalars().all()
    items = [AuditPublic(id=r.id, at=r.at, actor=r.actor, person_id=r.person_id, person_ids=r.person_ids or [],
                         person_count=r.person_count, purpose=r.purpose,
                         fields=[f for f in r.fields.split(",") if f]) for r in rows]
    return Page(items=items, next_cursor=next_cursor(request, items, page.limit, lambda a: {"id": a.id}))
