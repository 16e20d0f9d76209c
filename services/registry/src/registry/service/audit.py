"""The PII-read audit trail, as the caller may see it: only reads of persons whose household lies in the
caller's area (`registry.domain.jurisdiction`), as the registry holds it now. A batched read shows only
the persons of the caller's area, and counts only them."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carekit.auth.principal import Principal
from registry.db.tables import AuditRecord, HouseholdRecord, PersonRecord
from registry.service.search import visible_households


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    person_id: uuid.UUID | None
    person_ids: list[uuid.UUID]
    purpose: str
    fields: list[str]


def _read_visible_person(principal: Principal):  # noqa: ANN202 - an SQL expression
    """The row read at least one person of a household the caller sees."""
    named = or_(PersonRecord.id == AuditRecord.person_id, PersonRecord.id == AuditRecord.person_ids.any_())
    return exists(select(PersonRecord.id)
                  .join(HouseholdRecord, HouseholdRecord.id == PersonRecord.household_id)
                  .where(named, visible_households(principal)))


async def _visible_ids(session: AsyncSession, principal: Principal, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if not ids:
        return set()
    rows = await session.execute(select(PersonRecord.id)
                                 .join(HouseholdRecord, HouseholdRecord.id == PersonRecord.household_id)
                                 .where(PersonRecord.id.in_(set(ids)), visible_households(principal)))
    return set(rows.scalars())


async def audit_trail(session: AsyncSession, principal: Principal, *, person_id: uuid.UUID | None,
                      actor: str | None, limit: int, before: int | None) -> list[AuditEntry]:
    """Newest first; `before`: the id of the last row of the previous page."""
    stmt = select(AuditRecord).where(_read_visible_person(principal)).order_by(AuditRecord.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(AuditRecord.id < before)
    if person_id:
        stmt = stmt.where(or_(AuditRecord.person_id == person_id, AuditRecord.person_ids.contains([person_id])))
    if actor:
        stmt = stmt.where(AuditRecord.actor == actor)
    rows = (await session.execute(stmt)).scalars().all()
    visible = await _visible_ids(session, principal, [i for r in rows for i in r.person_ids or []])
    return [AuditEntry(id=r.id or 0, at=r.at, actor=r.actor, person_id=r.person_id,
                       person_ids=[i for i in r.person_ids or [] if i in visible], purpose=r.purpose,
                       fields=[f for f in r.fields.split(",") if f]) for r in rows]
