"""Reading the manual overrides in force (see `entitlements.service.appeals`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from entitlements.db.tables import OverrideRecord
from entitlements.domain.evaluation import in_population
from entitlements.domain.facts_catalogue import FactsRow
from entitlements.domain.overrides import Override
from entitlements.domain.policy import CheckedPolicy, Subject

OV = OverrideRecord.__table__
# Built once: the partners' check runs it on every request.
ONE_IN_FORCE = (select(OV).where(OV.c.subject_id == bindparam("subject"), OV.c.policy_code == bindparam("policy"),
                                 OV.c.expires_on >= bindparam("day"))
                .order_by(OV.c.decided_at.desc()).limit(1))


async def overrides_for(session: AsyncSession, subject_ids: Iterable[str], as_of: date,
                        policy_code: str | None = None) -> dict[tuple[str, str], Override]:
    """The override in force on `as_of` per (policy, subject): the latest decided wins."""
    ids = [uuid.UUID(s) for s in set(subject_ids)]
    if not ids:
        return {}
    query = select(OV).where(OV.c.subject_id.in_(ids), OV.c.expires_on >= as_of).order_by(OV.c.decided_at)
    if policy_code is not None:
        query = query.where(OV.c.policy_code == policy_code)
    found: dict[tuple[str, str], Override] = {}
    for r in (await session.execute(query)).all():
        found[(r.policy_code, str(r.subject_id))] = _override(r)
    return found


async def override_on(session: AsyncSession, checked: CheckedPolicy, row: FactsRow, day: date) -> Override | None:
    """The override in force on `day` for `row`'s subject of `checked`, if any (only when the policy is in
    force there and covers the subject)."""
    if not checked.policy.in_force_on(day) or not in_population(checked.policy, row, day):
        return None
    subject = row.household_id if checked.policy.subject is Subject.HOUSEHOLD else row.person_id
    r = (await session.execute(ONE_IN_FORCE, {"subject": uuid.UUID(subject), "policy": checked.policy.code,
                                              "day": day})).first()
    return _override(r) if r is not None else None


def _override(r: Any) -> Override:
    return Override(id=str(r.id), policy_code=r.policy_code, subject_id=str(r.subject_id), eligible=r.eligible,
                    amount=r.amount, reason=r.reason, expires_on=r.expires_on, decided_by=r.decided_by,
                    appeal_id=str(r.appeal_id) if r.appeal_id else None)
