"""Reading the manual overrides in force (see `entitlements.service.appeals`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from entitlements.db.tables import OverrideRecord
from entitlements.domain.overrides import Override

OV = OverrideRecord.__table__
# Built once: every household decision reads its overrides.
IN_FORCE = text(
    "SELECT * FROM overrides WHERE subject_id = ANY(CAST(:ids AS uuid[])) AND expires_on >= :as_of"
    " AND (CAST(:policy AS varchar) IS NULL OR policy_code = :policy) ORDER BY decided_at"
)


async def overrides_for(session: AsyncSession, subject_ids: Iterable[str], as_of: date,
                        policy_code: str | None = None) -> dict[tuple[str, str], Override]:
    """The override in force on `as_of` per (policy, subject): the latest decided wins."""
    ids = [uuid.UUID(s) for s in set(subject_ids)]
    if not ids:
        return {}
    found: dict[tuple[str, str], Override] = {}
    params = {"ids": ids, "as_of": as_of, "policy": policy_code}
    for r in (await session.execute(IN_FORCE, params)).all():
        found[(r.policy_code, str(r.subject_id))] = _override(r)
    return found


def _override(r: Any) -> Override:
    return Override(id=str(r.id), policy_code=r.policy_code, subject_id=str(r.subject_id), eligible=r.eligible,
                    amount=r.amount, reason=r.reason, expires_on=r.expires_on, decided_by=r.decided_by,
                    appeal_id=str(r.appeal_id) if r.appeal_id else None)
