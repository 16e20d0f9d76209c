"""Benefit cycles: evaluate a policy's population for a period into frozen beneficiary lines, summarise
them, and on approval (maker ≠ checker) publish them to relief in chunks (`entitlements.cycle.approved`,
contract C2).

The evaluation fans out by county: creating a cycle writes one work item per county of its region
(`cycle_work_items`); `run_work_items` takes pending items one at a time (`FOR UPDATE SKIP LOCKED`, so
any number of workers can share a cycle) and turns each into lines with ONE `INSERT … SELECT` — the
policy's compiled SQL (`domain/sql_compiler.py`) narrowed to the county, the payee chosen in the same
statement. The item's lines and its `done` mark commit together, so a worker that dies leaves the item
pending for another. When no item is pending the cycle's totals are fixed and it is `ready`.

One line per (policy, period, subject), ever (`uq_cycle_lines_subject`, `ON CONFLICT DO NOTHING`): a
re-run after approval is a supplementary cycle holding only subjects no earlier cycle had. Lines are
never touched after they are written, so later registry edits do not change a frozen cycle.

Manual overrides (see `service/appeals.py`) in force on the period's first day are applied to each area's
lines in the same transaction: to not eligible removes the line, to eligible sets the amount or adds it.

Payee: a person subject of age (18+) alive on the period's first day is paid themself; a child is paid
through their mother, else their father; a household subject through its head, else a parent, else
the eldest adult member — always a living adult of the household. A line with nobody to pay has no
payee (relief must hold it).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, literal, or_, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from carekit.db.engine import Database
from carekit.db.uow import UnitOfWork
from carekit.events.envelope import new_event
from entitlements.db.tables import CycleLineRecord, CycleRecord, CycleWorkItemRecord, PersonFactsRecord
from entitlements.domain.cycles import Period, check_cycle, chunks, is_paid
from entitlements.domain.policy import BenefitKind, CheckedPolicy, JurisdictionBasis, Subject, check_policy
from entitlements.domain.sql_compiler import compile_batch
from entitlements.service.policies import audit, get_version, stored_policy

SOURCE = "/guanhuai/entitlements"
APPROVED = "entitlements.cycle.approved"
CY = CycleRecord.__table__
WI = CycleWorkItemRecord.__table__
CL = CycleLineRecord.__table__
PF = PersonFactsRecord.__table__


class CycleNotFound(LookupError):
    pass


def _basis(checked: CheckedPolicy, alias: str) -> str:
    if checked.policy.jurisdiction_basis is JurisdictionBasis.RESIDENCE:
        return f"COALESCE({alias}.residence_division_code, {alias}.division_code)"
    return f"{alias}.division_code"


def _area(checked: CheckedPolicy, region: str) -> str:
    """The division prefix the cycle covers: the narrower of the creator's region and the jurisdiction."""
    jurisdiction = checked.policy.jurisdiction
    return region if len(region) > len(jurisdiction) else jurisdiction


async def create_cycle(session: AsyncSession, checked: CheckedPolicy, period: Period, region: str,
                       created_by: str) -> uuid.UUID:
    """The cycle row and its county work items (nothing evaluated yet); PolicyError if it cannot be run."""
    check_cycle(checked, period)
    policy = checked.policy
    area = _area(checked, region)
    if not region or not (area.startswith(region) and area.startswith(checked.policy.jurisdiction)):
        raise OutsideArea()
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('cycle:' || :code || ':' || :period))"),
                          {"code": policy.code, "period": period.text})
    # only a cycle over the same people blocks: one of an area containing this one or inside it
    open_cycle = (await session.execute(select(CY.c.id, CY.c.region).where(
        CY.c.policy_code == policy.code, CY.c.period == period.text, CY.c.status.not_in(("approved", "failed")),
        or_(CY.c.region.like(area + "%"), literal(area).like(CY.c.region + "%"))))).first()
    if open_cycle is not None:
        raise CycleOpen(open_cycle.id, open_cycle.region)
    cycle_id = uuid.uuid4()
    await session.execute(CY.insert().values(
        id=cycle_id, policy_code=policy.code, policy_version=policy.version, period=period.text, region=area,
        as_of=period.start, status="evaluating", fund=policy.benefit.fund, benefit_kind=policy.benefit.kind.value,
        unit=policy.benefit.unit, created_by=created_by))
    basis = _basis(checked, "pf")
    item = f"substr({basis}, 1, 6)" if len(area) <= 6 else "CAST(:area AS text)"
    await session.execute(text(
        f"INSERT INTO cycle_work_items (cycle_id, area_code, status) "
        f"SELECT DISTINCT CAST(:cycle_id AS uuid), {item}, 'pending' FROM person_facts AS pf "
        f"WHERE pf.household_facts_as_of IS NOT NULL AND {basis} LIKE CAST(:like AS text)"),
        {"cycle_id": cycle_id, "area": area, "like": area + "%"})
    await audit(session, created_by, "cycle.created", f"cycle/{cycle_id}", policy=policy.code, period=period.text)
    return cycle_id


class CycleOpen(Exception):
    def __init__(self, cycle_id: uuid.UUID, region: str) -> None:
        super().__init__(str(cycle_id))
        self.cycle_id, self.region = cycle_id, region


class OutsideArea(Exception):
    """The creator's region and the policy's jurisdiction do not meet (or the creator has no region)."""


class CycleStateError(Exception):
    def __init__(self, slug: str, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.slug, self.message, self.message_zh = slug, message, message_zh


async def cycle_policy(session: AsyncSession, cycle: Any) -> CheckedPolicy:
    return check_policy(stored_policy(await get_version(session, cycle.policy_code, cycle.policy_version)))


# The payee of a line whose subject row (a person subject's own row) is `s` and household is `hh`.
PAYEE_JOIN = (
    "LEFT JOIN LATERAL (\n"
    "    SELECT p.person_id FROM person_facts AS p\n"
    "    WHERE p.household_id = {hh} AND p.merged_into IS NULL\n"
    "      AND (p.death_date IS NULL OR p.death_date > CAST(:as_of AS date))\n"
    "      AND p.birth_ymd <= CAST(:as_of_num AS integer) - 180000\n"
    "    ORDER BY (p.person_id = s.person_id) IS TRUE DESC, (p.person_id = s.mother_id) IS TRUE DESC,\n"
    "             (p.person_id = s.father_id) IS TRUE DESC, (p.relation = 'head') DESC, p.is_parent DESC,\n"
    "             p.birth_date, p.person_id\n"
    "    LIMIT 1) AS payee ON TRUE\n"
)
# The latest override of each subject in force on the cycle's first day.
OVERRIDES_CTE = (
    "WITH o AS (SELECT DISTINCT ON (subject_id) subject_id, eligible, amount FROM overrides\n"
    "           WHERE policy_code = CAST(:policy_code AS text) AND expires_on >= CAST(:as_of AS date)\n"
    "           ORDER BY subject_id, decided_at DESC)\n"
)


def override_sql(checked: CheckedPolicy, cycle: Any, area: str) -> tuple[list[str], dict[str, Any]]:
    """Statements applying manual overrides to one area's lines: an override to not eligible removes the
    line, one to eligible sets its amount or adds the line the rules did not give."""
    where = "l.cycle_id = CAST(:cycle_id AS uuid) AND l.subject_id = o.subject_id AND " \
            "l.region_code LIKE CAST(:area_like AS text)"
    pf_region = _basis(checked, "pf")
    household = checked.policy.subject is Subject.HOUSEHOLD
    subject_match = "pf.household_id = o.subject_id" if household else "pf.person_id = o.subject_id"
    statements = [
        f"{OVERRIDES_CTE}DELETE FROM cycle_lines AS l USING o WHERE {where} AND NOT o.eligible",
        f"{OVERRIDES_CTE}UPDATE cycle_lines AS l SET amount = o.amount FROM o "
        f"WHERE {where} AND o.eligible AND o.amount IS NOT NULL",
        f"{OVERRIDES_CTE}, subj AS (\n"
        f"    SELECT DISTINCT ON (o.subject_id) o.subject_id, COALESCE(o.amount, 0) AS amount, pf.household_id,\n"
        f"           {pf_region} AS region_code\n"
        f"    FROM o JOIN person_facts AS pf ON {subject_match}\n"
        f"    WHERE o.eligible AND pf.household_facts_as_of IS NOT NULL AND pf.merged_into IS NULL\n"
        f"      AND {pf_region} LIKE CAST(:area_like AS text)\n"
        f"    ORDER BY o.subject_id, pf.person_id)\n"
        "INSERT INTO cycle_lines (line_id, cycle_id, policy_code, period, subject_kind, subject_id,\n"
        "                         payee_person_id, household_id, region_code, amount)\n"
        "SELECT gen_random_uuid(), CAST(:cycle_id AS uuid), CAST(:policy_code AS text), CAST(:period AS text),\n"
        "       CAST(:subject_kind AS text), subj.subject_id, payee.person_id, subj.household_id,\n"
        "       subj.region_code, subj.amount\n"
        "FROM subj LEFT JOIN person_facts AS s ON s.person_id = subj.subject_id\n"
        + PAYEE_JOIN.format(hh="subj.household_id")
        + "ON CONFLICT ON CONSTRAINT uq_cycle_lines_subject DO NOTHING",
    ]
    params = {"cycle_id": cycle.id, "policy_code": checked.policy.code, "period": cycle.period,
              "subject_kind": checked.policy.subject.value, "as_of": cycle.as_of, "area_like": area + "%",
              "as_of_num": cycle.as_of.year * 10000 + cycle.as_of.month * 100 + cycle.as_of.day}
    return statements, params


def lines_sql(checked: CheckedPolicy, cycle: Any, area: str) -> tuple[str, dict[str, Any]]:
    """One statement writing the lines of one area of a cycle (the batch query, payees, no doubles)."""
    batch = compile_batch(checked, cycle.as_of, within=area)
    region = ("COALESCE(b.residence_division_code, b.division_code)"
              if checked.policy.jurisdiction_basis is JurisdictionBasis.RESIDENCE else "b.division_code")
    sql = (
        "INSERT INTO cycle_lines (line_id, cycle_id, policy_code, period, subject_kind, subject_id,\n"
        "                         payee_person_id, household_id, region_code, amount)\n"
        "SELECT gen_random_uuid(), CAST(:cycle_id AS uuid), CAST(:policy_code AS text), CAST(:period AS text),\n"
        f"       CAST(:subject_kind AS text), CAST(b.subject_id AS uuid), payee.person_id,\n"
        f"       CAST(b.household_id AS uuid), {region}, b.amount\n"
        f"FROM ({batch.sql}) AS b\n"
        "LEFT JOIN person_facts AS s ON s.person_id = CAST(b.subject_id AS uuid)\n"
        + PAYEE_JOIN.format(hh="CAST(b.household_id AS uuid)")
        + "ON CONFLICT ON CONSTRAINT uq_cycle_lines_subject DO NOTHING"
    )
    params = {**batch.params, "cycle_id": cycle.id, "policy_code": checked.policy.code, "period": cycle.period,
              "subject_kind": checked.policy.subject.value}
    return sql, params


async def evaluate_item(session: AsyncSession, cycle_id: uuid.UUID, area: str, worker: str) -> bool:
    """Turn one pending work item into lines, in the caller's transaction; False when it was done already
    (by another worker: its row lock is waited for, so a redelivered item is never evaluated twice)."""
    item = (await session.execute(select(WI.c.status).where(WI.c.cycle_id == cycle_id, WI.c.area_code == area)
                                  .with_for_update())).first()
    if item is None or item.status != "pending":
        return False
    cycle = await get_cycle(session, cycle_id)
    status, written = "failed", 0
    if cycle.status != "failed":  # no more work for a cycle that has failed
        try:
            async with session.begin_nested():
                written = await _write_lines(session, cycle, area)
                status = "done"
        except DBAPIError as exc:
            if not _overflow(exc):
                raise
            await _fail(session, cycle_id)
    await session.execute(update(WI).where(WI.c.cycle_id == cycle_id, WI.c.area_code == area)
                          .values(status=status, lines=written, done_by=worker[:64], done_at=func.now()))
    return True


async def _write_lines(session: AsyncSession, cycle: Any, area: str) -> int:
    checked = await cycle_policy(session, cycle)
    sql, params = lines_sql(checked, cycle, area)
    await session.execute(text(sql), params)
    statements, override_params = override_sql(checked, cycle, area)
    for statement in statements:
        await session.execute(text(statement), override_params)
    return int((await session.execute(select(func.count()).select_from(CL).where(
        CL.c.cycle_id == cycle.id, CL.c.region_code.like(area + "%")))).scalar() or 0)


NUMERIC_OUT_OF_RANGE = "22003"


def _overflow(exc: DBAPIError) -> bool:
    """PostgreSQL's integer overflow: the batch path lets a 64-bit overflow of CEL's int raise (a policy
    whose amount formula overflows for someone), and a cycle's total is a bigint too."""
    return getattr(exc.orig, "sqlstate", None) == NUMERIC_OUT_OF_RANGE


async def _fail(session: AsyncSession, cycle_id: uuid.UUID) -> None:
    """The cycle cannot be evaluated: `failed`, and it keeps no line (its lines would hold its subjects'
    places for the period: one line per policy, period and subject, ever)."""
    await session.execute(update(CY).where(CY.c.id == cycle_id, CY.c.status == "evaluating").values(status="failed"))
    await session.execute(CL.delete().where(CL.c.cycle_id == cycle_id))


async def finish(session: AsyncSession, cycle_id: uuid.UUID) -> None:
    """Fix the totals and mark the cycle ready once no work item is pending (idempotent). The cycle row
    is locked first, so that of two workers finishing their last items at once, the later one sees the
    earlier one's item done (each statement below reads what was committed before it started)."""
    cycle = (await session.execute(select(CY.c.status).where(CY.c.id == cycle_id).with_for_update())).first()
    if cycle is not None and cycle.status == "failed":  # lines another worker wrote meanwhile go too
        await _fail(session, cycle_id)
        return
    try:
        async with session.begin_nested():
            await session.execute(text(
                "UPDATE cycles SET status = 'ready', "
                "total_lines = (SELECT count(*) FROM cycle_lines WHERE cycle_id = :id), "
                "total_amount = (SELECT COALESCE(sum(amount), 0) FROM cycle_lines WHERE cycle_id = :id) "
                "WHERE id = :id AND status = 'evaluating' AND NOT EXISTS "
                "(SELECT 1 FROM cycle_work_items WHERE cycle_id = :id AND status = 'pending')"), {"id": cycle_id})
    except DBAPIError as exc:
        if not _overflow(exc):
            raise
        await _fail(session, cycle_id)


async def run_work_items(db: Database, cycle_id: uuid.UUID, worker: str) -> int:
    """Take and evaluate pending work items of a cycle until none is left, each in its own transaction;
    returns how many this worker did. Safe to run in any number of workers at once."""
    done = 0
    while True:
        async with db.sessionmaker() as session, session.begin():
            await get_cycle(session, cycle_id)
            item = (await session.execute(
                select(WI.c.area_code).where(WI.c.cycle_id == cycle_id, WI.c.status == "pending")
                .order_by(WI.c.area_code).limit(1).with_for_update(skip_locked=True))).first()
            if item is None:
                break
            done += await evaluate_item(session, cycle_id, item.area_code, worker)
    async with db.sessionmaker() as session, session.begin():
        await finish(session, cycle_id)
    return done


async def work_items(session: AsyncSession, cycle_id: uuid.UUID) -> list[str]:
    return list((await session.execute(select(WI.c.area_code).where(WI.c.cycle_id == cycle_id)
                                       .order_by(WI.c.area_code))).scalars())


async def get_cycle(session: AsyncSession, cycle_id: uuid.UUID) -> Any:
    cycle = (await session.execute(select(CY).where(CY.c.id == cycle_id))).first()
    if cycle is None:
        raise CycleNotFound(str(cycle_id))
    return cycle


async def summary(session: AsyncSession, cycle_id: uuid.UUID) -> list[dict[str, Any]]:
    """Lines and amounts by county, and by township within each county."""
    rows = (await session.execute(text(
        "SELECT substr(region_code, 1, 6) AS county, substr(region_code, 1, 9) AS township, count(*) AS lines, "
        "COALESCE(sum(amount), 0) AS amount, count(*) FILTER (WHERE payee_person_id IS NULL) AS without_payee "
        "FROM cycle_lines WHERE cycle_id = :id GROUP BY 1, 2 ORDER BY 1, 2"), {"id": cycle_id})).all()
    counties: dict[str, dict[str, Any]] = {}
    for row in rows:
        county = counties.setdefault(row.county, {"county": row.county, "lines": 0, "amount": 0,
                                                  "without_payee": 0, "townships": []})
        county["lines"] += row.lines
        county["amount"] += int(row.amount)
        county["without_payee"] += row.without_payee
        county["townships"].append({"township": row.township, "lines": row.lines, "amount": int(row.amount)})
    return list(counties.values())


async def page_of_lines(session: AsyncSession, cycle_id: uuid.UUID, after: uuid.UUID | None,
                        limit: int) -> Sequence[Any]:
    query = select(CL).where(CL.c.cycle_id == cycle_id).order_by(CL.c.line_id).limit(limit)
    if after is not None:
        query = query.where(CL.c.line_id > after)
    return (await session.execute(query)).all()


def _line_json(line: Any) -> dict[str, Any]:
    return {"line_id": str(line.line_id), "subject_kind": line.subject_kind, "subject_id": str(line.subject_id),
            "payee_person_id": str(line.payee_person_id) if line.payee_person_id else None,
            "household_id": str(line.household_id), "region_code": line.region_code, "amount_fen": int(line.amount)}


async def approve(uow: UnitOfWork, cycle_id: uuid.UUID, approver: str) -> int:
    """Approve a ready cycle (not by its creator) and, for a cash benefit, put every line into the outbox
    in chunks of ≤ 1000, in this transaction. Returns the number of chunks."""
    session = uow.session
    cycle = (await session.execute(select(CY).where(CY.c.id == cycle_id).with_for_update())).first()
    if cycle is None:
        raise CycleNotFound(str(cycle_id))
    if cycle.status != "ready":
        raise CycleStateError("cycle-not-ready", f"The cycle is {cycle.status}; only a ready cycle is approved.",
                              f"该周期状态为{cycle.status}，只有待审批的周期可以审批。")
    if cycle.created_by == approver:
        raise CycleSelfApproval()
    approved_at = datetime.now(UTC)
    lines = (await session.execute(select(CL).where(CL.c.cycle_id == cycle_id).order_by(CL.c.line_id))).all()
    total = 0
    if is_paid(BenefitKind(cycle.benefit_kind)):
        for number, count, part in chunks(lines):
            total = count
            uow.emit(new_event(APPROVED, {
                "cycle_id": str(cycle.id), "policy_code": cycle.policy_code, "policy_version": cycle.policy_version,
                "period": cycle.period, "fund": cycle.fund, "benefit_kind": cycle.benefit_kind,
                "chunk": number, "chunks": count, "total_lines": cycle.total_lines,
                "total_amount_fen": int(cycle.total_amount), "approved_by": approver,
                "approved_at": approved_at.isoformat(), "lines": [_line_json(line) for line in part],
            }, source=SOURCE, subject=f"{cycle.id}/{number}"))
    await session.execute(update(CY).where(CY.c.id == cycle_id).values(
        status="approved", approved_by=approver, approved_at=approved_at, chunks=total))
    await audit(session, approver, "cycle.approved", f"cycle/{cycle_id}", chunks=total)
    return total


class CycleSelfApproval(Exception):
    """Maker ≠ checker: the creator of a cycle cannot approve it."""
