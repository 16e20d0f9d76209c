"""Queue the SMS an event asks for: one message per (event, recipient, template), whatever the redeliveries;
decision notices are folded into one per recipient and day (`digests`)."""

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, false, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession

from carekit.auth.principal import Principal
from carekit.db.uow import UnitOfWork
from carekit.events.envelope import EventEnvelope
from notifications.db.tables import MessageRecord, TemplateRecord
from notifications.domain.triggers import Notice, notices_for
from notifications.service.digests import DIGESTED, enqueue_digests

COLUMNS = (
    "id",
    "event_id",
    "event_type",
    "template_code",
    "recipient_key",
    "person_id",
    "household_id",
    "region_code",
    "params",
    "category",
    "urgent",
    "survey",
    "not_before",
)
# One statement for a whole batch of events (arrays unnested), not one round trip per message.
INSERT_MESSAGES = text(
    "INSERT INTO messages (id, event_id, event_type, template_code, language, recipient_key, person_id, household_id,"
    " region_code, params, category, urgent, survey, state, not_before, attempts) "
    "SELECT id, event_id, event_type, template_code, 'zh', recipient_key, person_id, household_id, region_code,"
    " CAST(params AS jsonb), category, urgent, survey, 'queued', not_before, 0 FROM unnest("
    "CAST(:id AS uuid[]), CAST(:event_id AS uuid[]), CAST(:event_type AS varchar[]), CAST(:template_code AS varchar[]),"
    " CAST(:recipient_key AS varchar[]), CAST(:person_id AS uuid[]), CAST(:household_id AS uuid[]),"
    " CAST(:region_code AS varchar[]), CAST(:params AS text[]), CAST(:category AS varchar[]),"
    " CAST(:urgent AS boolean[]), CAST(:survey AS boolean[]), CAST(:not_before AS timestamptz[]))"
    " AS m(id, event_id, event_type, template_code, recipient_key, person_id, household_id, region_code, params,"
    " category, urgent, survey, not_before) "
    "ON CONFLICT ON CONSTRAINT uq_messages_event_recipient_template DO NOTHING"
)


def columns(rows: list[dict], names: tuple[str, ...]) -> dict[str, list]:
    """Rows → one list per column, the bind parameters of an unnest() statement."""
    return {name: [row[name] for row in rows] for name in names}


def _recipient_key(notice: Notice) -> str:
    a = notice.addressee
    return f"person:{a.person_id}" if a.person_id else f"household:{a.household_id}"


async def enqueue_for_events(uow: UnitOfWork, events: list[EventEnvelope], decision_hold: timedelta) -> int:
    """Queue the events' notices in one statement; a template that is not configured is skipped; decision
    notices wait `decision_hold` for the other decisions of their change (`service/digests.py`)."""
    notices = [(e, n) for e in events for n in notices_for(e.type, e.data, e.time.date().isoformat())]
    if not notices:
        return 0
    codes = {n.template_code for _, n in notices}
    rows = await uow.session.execute(
        select(TemplateRecord).where(TemplateRecord.code.in_(codes), TemplateRecord.language == "zh")
    )
    templates = {r.code: r for r in rows.scalars()}
    rows = [_row(e, n, templates[n.template_code]) for e, n in notices if n.template_code in templates]
    params = [r for r in rows if r["template_code"] not in DIGESTED]
    params += await enqueue_digests(uow, [r for r in rows if r["template_code"] in DIGESTED], decision_hold)
    if params:
        await uow.session.execute(INSERT_MESSAGES, columns(params, COLUMNS))
    return len(params)


def _row(event: EventEnvelope, n: Notice, template: TemplateRecord) -> dict:
    return {
        "id": uuid.uuid4(),
        "event_id": uuid.UUID(str(event.id)),
        "event_type": event.type,
        "template_code": n.template_code,
        "recipient_key": _recipient_key(n),
        "person_id": uuid.UUID(n.addressee.person_id) if n.addressee.person_id else None,
        "household_id": uuid.UUID(n.addressee.household_id) if n.addressee.household_id else None,
        "region_code": n.addressee.region_code,
        "params": json.dumps(n.params, ensure_ascii=False),
        "category": template.category,
        "urgent": template.urgent,
        "survey": template.survey,
        "not_before": event.time,
    }


def visible_messages(principal: Principal) -> ColumnElement[bool]:
    """A message is seen inside the region of its recipient's household (stored with the message); one whose
    region is not known is seen only by the services."""
    if principal.is_service:
        return true()
    if not principal.region:
        return false()
    return MessageRecord.region_code.startswith(principal.region, autoescape=True)


@dataclass(frozen=True)
class MessageFilter:
    event_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    state: str | None = None
    limit: int = 100


async def list_messages(session: AsyncSession, principal: Principal, wanted: MessageFilter) -> list[MessageRecord]:
    """Newest first, inside the caller's region."""
    query = select(MessageRecord).where(visible_messages(principal))
    if wanted.event_id is not None:
        query = query.where(MessageRecord.event_id == wanted.event_id)
    if wanted.person_id is not None:
        query = query.where(MessageRecord.person_id == wanted.person_id)
    if wanted.state is not None:
        query = query.where(MessageRecord.state == wanted.state)
    query = query.order_by(MessageRecord.created_at.desc()).limit(wanted.limit)
    return list((await session.execute(query)).scalars())


async def get_message(session: AsyncSession, principal: Principal, message_id: uuid.UUID) -> MessageRecord | None:
    query = select(MessageRecord).where(MessageRecord.id == message_id, visible_messages(principal))
    return (await session.execute(query)).scalar_one_or_none()
