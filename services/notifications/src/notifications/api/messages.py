"""SMS messages as queued and sent (ops, admins, auditors). No phone number is ever shown or stored."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, not_found
from notifications.api.deps import Staff
from notifications.db.tables import MessageRecord

router = APIRouter(prefix="/v1/messages", tags=["messages"], responses=PROBLEM_RESPONSES)


class MessagePublic(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    template_code: str
    person_id: uuid.UUID | None
    household_id: uuid.UUID | None
    region_code: str | None
    category: str
    urgent: bool
    state: str
    not_before: datetime
    attempts: int
    provider: str | None
    provider_message_id: str | None
    parts: int | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    final_at: datetime | None


def _public(r: MessageRecord) -> MessagePublic:
    return MessagePublic.model_validate(r, from_attributes=True)


@router.get("", response_model=list[MessagePublic], summary="Messages, newest first, filtered")
async def list_messages(
    principal: Staff,
    uow: UowDep,
    event_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    state: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MessagePublic]:
    query = select(MessageRecord).order_by(MessageRecord.created_at.desc()).limit(limit)
    if event_id:
        query = query.where(MessageRecord.event_id == event_id)
    if person_id:
        query = query.where(MessageRecord.person_id == person_id)
    if state:
        query = query.where(MessageRecord.state == state)
    rows = (await uow.session.execute(query)).scalars()
    return [_public(r) for r in rows if r.region_code is None or principal.covers(r.region_code)]


@router.get("/{message_id}", response_model=MessagePublic, summary="One message")
async def get_message(message_id: uuid.UUID, principal: Staff, uow: UowDep) -> MessagePublic:
    record = await uow.session.get(MessageRecord, message_id)
    if record is None or (record.region_code is not None and not principal.covers(record.region_code)):
        raise not_found("message", "短信")
    return _public(record)
