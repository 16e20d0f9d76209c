"""Reads behind the explanation and the partners' real-time check, on the facts projection only (no
registry call on the hot path)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from entitlements.adapters.batch import facts_row
from entitlements.db.tables import PersonFactsRecord
from entitlements.domain.evaluation import Decision, division_for, evaluate, holds, in_population
from entitlements.domain.facts_catalogue import FactsRow
from entitlements.domain.overrides import Override
from entitlements.domain.policy import CheckedPolicy, Subject

PF = PersonFactsRecord.__table__
HORIZON_DAYS = 366
# The partners' check: the person by the blind index — only inside the partner's remit, where the
# household is registered or where it lives — and the override in force for one policy, in one round trip
# (the latest decided wins, as in `overrides_for`). A person outside the remit is not found, exactly as an
# unknown number: same statement, same answer.
PERSON_AND_OVERRIDE = text(
    "SELECT pf.*, o.id AS o_id, o.appeal_id AS o_appeal_id, o.subject_id AS o_subject_id, o.eligible AS o_eligible,"
    " o.amount AS o_amount, o.reason AS o_reason, o.expires_on AS o_expires_on, o.decided_by AS o_decided_by"
    " FROM person_facts pf LEFT JOIN LATERAL (SELECT * FROM overrides o WHERE o.policy_code = :policy"
    " AND o.subject_id = CASE WHEN :by_household THEN pf.household_id ELSE pf.person_id END"
    " AND o.expires_on >= :day ORDER BY o.decided_at DESC LIMIT 1) o ON true"
    " WHERE pf.id_number_index = :index AND pf.merged_into IS NULL"
    " AND (pf.division_code LIKE :remit OR pf.residence_division_code LIKE :remit) LIMIT 1"
)


async def person_row(session: AsyncSession, person_id: uuid.UUID) -> FactsRow | None:
    found = (await session.execute(select(PF).where(PF.c.person_id == person_id,
                                                    PF.c.merged_into.is_(None)))).first()
    return facts_row(dict(found._mapping)) if found else None


async def person_and_override(session: AsyncSession, index: str, remit: str, checked: CheckedPolicy,
                              day: date) -> tuple[FactsRow, Override | None] | None:
    """The person with this blind index registered or living inside `remit` (a division-code prefix of
    ASCII digits), and the override of `checked` in force for them on `day` (only when the policy is in
    force there and covers them, as the explanation does); None for nobody."""
    by_household = checked.policy.subject is Subject.HOUSEHOLD
    found = (await session.execute(PERSON_AND_OVERRIDE, {"index": index, "remit": remit + "%",
                                                         "policy": checked.policy.code,
                                                         "by_household": by_household, "day": day})).first()
    if found is None:
        return None
    values = found._mapping
    row = facts_row(dict(values))
    if values["o_id"] is None or not checked.policy.in_force_on(day) or not in_population(checked.policy, row, day):
        return row, None
    return row, Override(id=str(values["o_id"]), policy_code=checked.policy.code,
                         subject_id=str(values["o_subject_id"]), eligible=values["o_eligible"],
                         amount=values["o_amount"], reason=values["o_reason"], expires_on=values["o_expires_on"],
                         decided_by=values["o_decided_by"],
                         appeal_id=str(values["o_appeal_id"]) if values["o_appeal_id"] else None)


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
