"""Event-driven decisions: when a household's facts change, re-evaluate its persons (or the household)
for every library policy in force, and publish what changed.

`decisions` holds the current decision per (policy, subject). Comparing the new evaluation with it:

* not eligible before (or never decided), eligible now → `entitlements.decision.granted`;
* eligible before and now, another amount or policy version → `entitlements.decision.changed`;
* eligible before, not now → `entitlements.decision.revoked`.

Nothing is published when nothing changed, so replays and repeated facts publish nothing. Events go
through the outbox in the consumer's own transaction (`uow.emit`): a decision is stored and announced
together, or neither. A subject that moved to another household is left to that household's evaluation.

The evaluation date is today in China (Asia/Shanghai). The effective date of a change is the effective
date of the household's latest life event (a death on the 15th takes effect on the 15th) when there is
one not after today, else today; never before the policy's own first day. A back-dated life event gives
a back-dated decision: whether that means back pay is relief's call.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from carekit.china import CHINA
from carekit.db.uow import UnitOfWork
from carekit.events.envelope import new_event
from entitlements.adapters.batch import facts_row
from entitlements.db.tables import DecisionRecord, PersonFactsRecord
from entitlements.domain.cycles import is_paid
from entitlements.domain.evaluation import Decision, evaluate_population
from entitlements.domain.overrides import apply_override
from entitlements.domain.policy import CheckedPolicy
from entitlements.service.overrides import overrides_for

SOURCE = "/guanhuai/entitlements"
GRANTED = "entitlements.decision.granted"
CHANGED = "entitlements.decision.changed"
REVOKED = "entitlements.decision.revoked"

DT = DecisionRecord.__table__
PF = PersonFactsRecord.__table__
# Built once: a household is decided after each batch of its registry events.
HOUSEHOLD_ROWS = select(PF).where(PF.c.household_id == bindparam("hid")).order_by(PF.c.person_id)
# The stored decisions of the household, and those of its subjects stored under another household (a person
# who moved in), for every policy in one read.
STORED_DECISIONS = text(
    "SELECT * FROM decisions WHERE household_id = :hid OR subject_id = ANY(CAST(:subjects AS uuid[])) FOR UPDATE")
UPSERT_DECISION = text(
    "INSERT INTO decisions (policy_code, subject_id, subject, household_id, policy_version, eligible, amount, unit,"
    " effective_date, reason, decided_at) VALUES (:policy, :subject_id, :subject, :hid, :version, :eligible,"
    " :amount, :unit, :effective, :reason, now())"
    " ON CONFLICT (policy_code, subject_id) DO UPDATE SET subject = EXCLUDED.subject,"
    " household_id = EXCLUDED.household_id, policy_version = EXCLUDED.policy_version,"
    " eligible = EXCLUDED.eligible, amount = EXCLUDED.amount, unit = EXCLUDED.unit,"
    " effective_date = EXCLUDED.effective_date, reason = EXCLUDED.reason, decided_at = now()"
)


def today_in_china() -> date:
    return datetime.now(CHINA).date()


async def household_rows(session: AsyncSession, household_id: uuid.UUID) -> list:
    result = await session.execute(HOUSEHOLD_ROWS, {"hid": household_id})
    return [facts_row(dict(r._mapping)) for r in result]


async def decide_household(uow: UnitOfWork, household_id: uuid.UUID, library: Sequence[CheckedPolicy], *,
                           reason: str, effective_date: date | None, as_of: date | None = None) -> list[str]:
    """Re-evaluate one household for every policy in force; store and publish the changes.

    Returns the types of the events published (for logging and tests)."""
    session = uow.session
    as_of = as_of or today_in_china()
    effective = effective_date if effective_date is not None and effective_date <= as_of else as_of
    rows = await household_rows(session, household_id)
    members = {row.person_id for row in rows}
    overrides = await overrides_for(session, [*members, str(household_id)], as_of)
    stored_by_policy: dict[str, dict[str, Any]] = {}
    elsewhere_by_policy: dict[str, dict[str, Any]] = {}
    subjects = [uuid.UUID(s) for s in members] + [household_id]
    for r in (await session.execute(STORED_DECISIONS, {"hid": household_id, "subjects": subjects})).all():
        by_policy = stored_by_policy if r.household_id == household_id else elsewhere_by_policy
        by_policy.setdefault(r.policy_code, {})[str(r.subject_id)] = r
    published: list[str] = []
    for checked in library:
        policy = checked.policy
        current: dict[str, Decision] = {}
        evaluated: dict[str, Decision] = {}
        if policy.in_force_on(as_of):
            evaluated = {d.subject_id: apply_override(d, overrides.get((policy.code, d.subject_id)))
                         for d in evaluate_population(checked, rows, as_of)}
            current = {s: d for s, d in evaluated.items() if d.eligible}
        stored = stored_by_policy.get(policy.code, {})
        elsewhere = elsewhere_by_policy.get(policy.code, {})
        stored |= {s: elsewhere[s] for s in current if s not in stored and s in elsewhere}
        for subject_id in sorted(set(current) | {s for s, r in stored.items() if r.eligible}):
            new, old = current.get(subject_id), stored.get(subject_id)
            was = old is not None and old.eligible
            if new is None:
                if not was or (old.subject == "person" and subject_id not in members
                               and await _lives_elsewhere(session, subject_id, household_id)):
                    continue
                kind = REVOKED
            elif not was:
                kind = GRANTED
            elif old.amount != new.amount or old.policy_version != policy.version:
                kind = CHANGED
            else:
                continue
            takes_effect = max(effective, policy.effective_from)  # never before the policy itself
            await _store(session, checked, subject_id, household_id, new, takes_effect, reason)
            data = _event_data(checked, subject_id, household_id, new, old, takes_effect, reason, as_of)
            data |= _regions(rows)
            if policy.subject.value == "household":  # whom a notice about the household goes to
                data["head_person_id"] = await _living_head(session, household_id)
            if new is None:
                data["unmet"] = _unmet(policy.in_force_on(as_of), evaluated.get(subject_id))
            uow.emit(new_event(kind, data, source=SOURCE, subject=f"{policy.code}/{subject_id}"))
            published.append(kind)
    return published


def _unmet(in_force: bool, decision: Decision | None) -> list[dict[str, str]]:
    """Why a revoked subject is no longer eligible, in zh and en (the failed criteria's lines)."""
    if not in_force:
        return [{"zh": "政策已不在有效期内", "en": "the policy is no longer in force"}]
    if decision is None:
        return [{"zh": "不再属于本政策的适用人群", "en": "no longer in the policy's population"}]
    lines = [{"zh": c.text_zh, "en": c.text_en} for c in decision.criteria if not c.passed]
    return lines or [{"zh": decision.summary_zh, "en": decision.summary_en}]


async def _living_head(session: AsyncSession, household_id: uuid.UUID) -> str | None:
    found = (await session.execute(select(PF.c.person_id).where(
        PF.c.household_id == household_id, PF.c.relation == "head", PF.c.death_date.is_(None)))).first()
    return str(found.person_id) if found is not None else None


async def _lives_elsewhere(session: AsyncSession, person_id: str, household_id: uuid.UUID) -> bool:
    found = (await session.execute(select(PF.c.household_id).where(PF.c.person_id == uuid.UUID(person_id)))).first()
    return found is not None and found.household_id != household_id


async def _store(session: AsyncSession, checked: CheckedPolicy, subject_id: str, household_id: uuid.UUID,
                 new: Decision | None, effective: date, reason: str) -> None:
    policy = checked.policy
    await session.execute(UPSERT_DECISION, {
        "policy": policy.code, "subject_id": uuid.UUID(subject_id), "subject": policy.subject.value,
        "hid": household_id, "version": policy.version, "eligible": new is not None,
        "amount": new.amount if new else None, "unit": policy.benefit.unit, "effective": effective,
        "reason": reason[:120]})


def _regions(rows: Sequence[Any]) -> dict[str, str | None]:
    """Where the household is registered and where it lives: partners' subscriptions filter on these."""
    if not rows:
        return {"region_code": None, "residence_region_code": None}
    return {"region_code": rows[0].division_code,
            "residence_region_code": getattr(rows[0], "residence_division_code", None)}


def _event_data(checked: CheckedPolicy, subject_id: str, household_id: uuid.UUID, new: Decision | None,
                old: Any, effective: date, reason: str, as_of: date) -> dict[str, Any]:
    policy = checked.policy
    cash = is_paid(policy.benefit.kind)  # an amount means money only: points, flags and cards carry none
    data: dict[str, Any] = {
        "policy": policy.code,
        "policy_name": {"zh": policy.name.zh, "en": policy.name.en},
        "policy_version": policy.version,
        "subject": policy.subject.value,
        "subject_id": subject_id,
        "household_id": str(household_id),
        "eligible": new is not None,
        "amount": new.amount if new and cash else None,
        "previous_amount": old.amount if cash and old is not None and old.eligible else None,
        "unit": policy.benefit.unit,
        "benefit_kind": policy.benefit.kind.value,
        "fund": policy.benefit.fund,
        "effective_date": effective.isoformat(),
        "evaluated_on": as_of.isoformat(),
        "reason": reason,
    }
    if new is not None:
        data["summary"] = {"zh": new.summary_zh, "en": new.summary_en}
    return data
