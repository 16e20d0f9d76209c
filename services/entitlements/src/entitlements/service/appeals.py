"""Appeals and manual overrides: a caseworker files an appeal for a person and a policy; an approver
(not the one who filed it) refuses it or grants an override (eligible or not, with a reason and an
expiry). Both are audited. An override is applied wherever the subject is decided: the explanation, the
partners' check and the event-driven decisions — deciding the appeal re-decides the household at once,
so a granted override publishes `granted` (or `revoked`) in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from carekit.db.uow import UnitOfWork
from entitlements.db.tables import AppealRecord, OverrideRecord
from entitlements.domain.facts_catalogue import FactsRow
from entitlements.domain.overrides import check_override
from entitlements.domain.policy import CheckedPolicy, Subject
from entitlements.service.decisions import decide_household
from entitlements.service.policies import active_policies, audit

AP = AppealRecord.__table__
OV = OverrideRecord.__table__


class AppealNotFound(LookupError):
    pass


class AppealClosed(Exception):
    pass


class SelfDecision(Exception):
    """Maker ≠ checker: who filed an appeal does not decide it."""


def subject_of(checked: CheckedPolicy, row: FactsRow) -> str:
    return row.household_id if checked.policy.subject is Subject.HOUSEHOLD else row.person_id


async def file_appeal(session: AsyncSession, person_id: uuid.UUID, policy_code: str, reason: str,
                      filed_by: str) -> uuid.UUID:
    appeal_id = uuid.uuid4()
    await session.execute(AP.insert().values(id=appeal_id, person_id=person_id, policy_code=policy_code,
                                             reason=reason, status="open", filed_by=filed_by))
    await audit(session, filed_by, "appeal.filed", f"appeal/{appeal_id}", person_id=str(person_id),
                policy=policy_code, reason=reason)
    return appeal_id


async def get_appeal(session: AsyncSession, appeal_id: uuid.UUID, lock: bool = False) -> Any:
    query = select(AP).where(AP.c.id == appeal_id)
    row = (await session.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        raise AppealNotFound(str(appeal_id))
    return row


async def decide_appeal(uow: UnitOfWork, appeal: Any, checked: CheckedPolicy, row: FactsRow, approver: str, *,
                        grant: bool, eligible: bool, amount: int | None, reason: str, expires_on: date | None,
                        today: date) -> uuid.UUID | None:
    """Refuse the appeal, or grant an override; re-decide the household. Returns the override's id."""
    session = uow.session
    if appeal.status != "open":
        raise AppealClosed(str(appeal.id))
    if appeal.filed_by == approver:
        raise SelfDecision()
    override_id = None
    if grant:
        assert expires_on is not None  # noqa: S101 - the view requires it
        check_override(eligible, amount, checked.policy.benefit.unit, reason, expires_on, today)
        override_id = uuid.uuid4()
        await session.execute(OV.insert().values(
            id=override_id, appeal_id=appeal.id, policy_code=checked.policy.code,
            subject_id=uuid.UUID(subject_of(checked, row)), household_id=uuid.UUID(row.household_id),
            eligible=eligible, amount=amount if eligible else None, reason=reason, expires_on=expires_on,
            decided_by=approver))
    await session.execute(update(AP).where(AP.c.id == appeal.id).values(
        status="granted" if grant else "refused", decided_by=approver, decided_at=func.now()))
    await audit(session, approver, "appeal.granted" if grant else "appeal.refused", f"appeal/{appeal.id}",
                reason=reason, override=str(override_id) if override_id else None, eligible=eligible,
                amount=amount, expires_on=expires_on.isoformat() if expires_on else None)
    await decide_household(uow, uuid.UUID(row.household_id), await active_policies(session),
                           reason="manual override" if grant else "appeal refused", effective_date=today,
                           as_of=today)
    return override_id


async def appeals_of(session: AsyncSession, person_id: uuid.UUID) -> Sequence[Any]:
    return (await session.execute(select(AP).where(AP.c.person_id == person_id).order_by(AP.c.filed_at))).all()
