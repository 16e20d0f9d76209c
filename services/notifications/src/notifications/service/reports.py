"""Satisfaction by township from survey replies (the programmes target ≥ 90 % satisfied)."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.domain.replies import SATISFIED_FROM, TownshipSatisfaction

BY_TOWNSHIP = text(
    "SELECT township, count(*) AS responses, count(*) FILTER (WHERE score >= :satisfied) AS satisfied"
    " FROM survey_responses WHERE region_code LIKE :prefix AND township IS NOT NULL"
    " GROUP BY township ORDER BY township"
)


async def satisfaction_by_township(session: AsyncSession, region_prefix: str) -> list[TownshipSatisfaction]:
    rows = await session.execute(BY_TOWNSHIP, {"satisfied": SATISFIED_FROM, "prefix": region_prefix + "%"})
    return [TownshipSatisfaction(t, r, s) for t, r, s in rows]
