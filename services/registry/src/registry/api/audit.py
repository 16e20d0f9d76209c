"""`GET /v1/audit`: who read which person's unmasked identifiers, when and why (auditors), for the persons
of the auditor's region only (`registry.service.audit`)."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.deps import PageDep, UowDep
from carekit.http.pagination import Page, next_cursor
from carekit.http.problems import PROBLEM_RESPONSES
from registry.api.persons import load_person
from registry.service.audit import audit_trail

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=PROBLEM_RESPONSES)
Auditor = Annotated[Principal, Depends(require_roles(Role.AUDITOR))]


class AuditPublic(BaseModel):
    id: int
    at: datetime
    actor: str
    person_id: uuid.UUID | None = Field(description="The person read; null for a batched read")
    person_ids: list[uuid.UUID] = Field(description="Batched read: the persons read that are in your region")
    person_count: int = Field(description="How many persons of your region the read named")
    purpose: str
    fields: list[str]


@router.get("", response_model=Page[AuditPublic],
            summary="Unmasked reads of personal identifiers of persons in your region, newest first",
            description="A `person_id` outside your region (or unknown) answers 404, as reading the person does.")
async def list_audit(principal: Auditor, uow: UowDep, page: PageDep, request: Request,
                     person_id: Annotated[uuid.UUID | None, Query()] = None,
                     actor: Annotated[str | None, Query(max_length=255)] = None) -> Page[AuditPublic]:
    if person_id:
        await load_person(uow, principal, person_id, allow_merged=True)  # 404 outside the caller's region
    entries = await audit_trail(uow.session, principal, person_id=person_id, actor=actor, limit=page.limit,
                                before=int(page.after["id"]) if page.after else None)
    items = [AuditPublic(id=e.id, at=e.at, actor=e.actor, person_id=e.person_id, person_ids=e.person_ids,
                         person_count=1 if e.person_id else len(e.person_ids), purpose=e.purpose,
                         fields=e.fields) for e in entries]
    return Page(items=items, next_cursor=next_cursor(request, items, page.limit, lambda a: {"id": a.id}))
