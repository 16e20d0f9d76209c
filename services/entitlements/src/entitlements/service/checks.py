"""Reads behind the explanation and the partners' real-time check, on the facts projection only (no
registry call on the hot path)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from entitlements.adapters.batch import facts_row
from entitlements.db.tables import PersonFactsRecord
from entitlements.domain.evaluation import Decision, division_for, evaluate, holds, in_population
from entitlements.domain.facts_catalogue import FactsRow
from entitlements.domain.policy import CheckedPolicy

PF = PersonFactsRecord.__table__
HORIZON_DAYS = 366
# Built once: the partners' check runs these on every request.
BY_INDEX = select(PF).where(PF.c.id_number_index == bindparam("index")).limit(1)


async def person_row(session: AsyncSession, person_id: uuid.UUID) -> FactsRow | None:
    found = (await session.execute(select(PF).where(PF.c.person_id == person_id,
                                                    PF.c.merged_into.is_(None)))).first()
    return facts_row(dict(found._mapping)) if found else None


async def person_by_index(session: AsyncSession, index: str) -> FactsRow | None:
    found = (await session.execute(BY_INDEX, {"index": index})).first()
    return facts_row(dict(found._mapping)) if found else None


def policies_for(library: Sequence[CheckedPolicy], row: FactsRow, as_of: date) -> list[CheckedPolicy]:
    """The library policies in force on `as_of` whose jurisdiction covers the person's place."""
    return [c for c in library if c.policy.in_force_on(as_of) and c.policy.covers(division_for(c.policy, row))]


def holds_on(checked: CheckedPolicy, row: FactsRow, day: date) -> bool:
    """`eligible_on(...) is not None`, without the explanation."""
    return checked.policy.in_force_on(day) and in_population(checked.policy, row, day) and holds(checked, row, day)


def eligible_on(checked: CheckedPolicy, row: FactsRow, day: date) -> Decision | None:
    """The eligible decision of `row`'s subject on `day`, or None."""
    if not checked.policy.in_force_on(day) or not in_population(checked.policy, row, day):
        return None
    decision = evaluate(checked, row, day)
    return decision if decision.eligible else None


def _anniversaries(born: date | None, start: date, end: date) -> list[date]:
    if born is None:
        return []
    days = []
    for year in range(start.year, end.year + 1):
        try:
            day = born.replace(year=year)
        except ValueError:  # 29 February: the age changes on 1 March in common years
            day = date(year, 3, 1)
        if start < day <= end:
            days.append(day)
    return days


def valid_until(checked: CheckedPolicy, row: FactsRow, as_of: date) -> date:
    """The last day, from `as_of` on and within a year, that the subject stays eligible on the facts on
    record: evaluated on every day a date-dependent fact can change (birthdays of the person, the parents
    and the youngest child; the first of each month and year; the end of the policy)."""
    end = as_of + timedelta(days=HORIZON_DAYS)
    if checked.policy.effective_to is not None:
        end = min(end, checked.policy.effective_to)
    candidates = set()
    for born in (row.birth_date, row.mother_birth_date, row.father_birth_date, row.youngest_child_birth_date):
        candidates.update(_anniversaries(born, as_of, end))
    month = date(as_of.year, as_of.month, 1)
    while True:
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        if month > end:
            break
        candidates.add(month)
    for day in sorted(candidates):
        if not holds_on(checked, row, day):
            return day - timedelta(days=1)
    return end
