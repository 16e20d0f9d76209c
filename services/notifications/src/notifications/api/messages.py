"""SMS messages as queued and sent (staff, inside their region). No phone number is ever shown or stored."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, not_found
from notifications.api.deps import Staff
from notifications.db.tables import MessageRecord
from notifications.domain.delivery import MessageState
from notifications.service import messages
from notifications.service.messages import MessageFilter

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


@router.get("", response_model=list[MessagePublic], summary="Messages in your region, newest first, filtered")
async def list_messages(
    principal: Staff,
    uow: UowDep,
    event_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    state: MessageState | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MessagePublic]:
    wanted = MessageFilter(event_id, person_id, state.value if state else None, limit)
    return [_public(r) for r in await messages.list_messages(uow.session, principal, wanted)]


@router.get("/{message_id}", response_model=MessagePublic, summary="One message")
async def get_message(message_id: uuid.UUID, principal: Staff, uow: UowDep) -> MessagePublic:
    record = await messages.get_message(uow.session, principal, message_id)
    if record is None:
        raise not_found("message", "短信")
    return _public(record)
