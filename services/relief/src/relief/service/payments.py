"""Provider results → payments and the ledger, set-based: one lock, one settlement, one update.

Reports come from callbacks, from submit answers and from queries, duplicated and out of order;
`relief.domain.disbursement.transition` decides what each does, the ledger's unique second phase
per pending transfer makes a repeated settlement a no-op whatever happens concurrently.
"""

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text

from carekit.db.uow import UnitOfWork
from relief.domain.disbursement import Ledger, PaymentStatus, Reason, transition
from relief.domain.funds import expense_account, fund_account
from relief.domain.ledger import TransferKind
from relief.events.outgoing import (
    PAYMENT_FAILED,
    PAYMENT_HELD,
    PAYMENT_RETURNED,
    PAYMENT_SUCCEEDED,
    payment_event_of,
)
from relief.service.ledger import reverse_many, settle_many

RETURN_NAMESPACE = uuid.UUID("0b6c3f7e-8d1a-4c9e-bb0e-5d7f2a9c4e31")
EVENT_OF = {
    PaymentStatus.SUCCEEDED: PAYMENT_SUCCEEDED,
    PaymentStatus.FAILED: PAYMENT_FAILED,
    PaymentStatus.RETURNED: PAYMENT_RETURNED,
    PaymentStatus.HELD: PAYMENT_HELD,
}
_COLUMNS = (
    "p.id, p.end_to_end_id, p.status, p.batch_id, p.line_id, p.policy_code, p.period, p.payee_person_id, "
    "p.household_id, p.region_code, p.amount_fen, b.fund_code, "
    # where the payment's reservation went: its return goes back from there
    "(SELECT t.credit_account FROM ledger_transfers t WHERE t.id = p.id) AS expense_account"
)


@dataclass(frozen=True)
class Report:
    end_to_end_id: str
    state: str
    provider_ref: str | None = None
    reason: str | None = None
    occurred_at: datetime | None = None


def payment_event(row, status: PaymentStatus, reason: dict | None, at: datetime):  # noqa: ANN001, ANN201
    data = {
        "payment_id": str(row.id),
        "end_to_end_id": row.end_to_end_id,
        "batch_id": str(row.batch_id),
        "line_id": str(row.line_id),
        "policy_code": row.policy_code,
        "period": row.period,
        "payee_person_id": str(row.payee_person_id),
        "household_id": str(row.household_id),
        "region_code": row.region_code,
        "amount_fen": row.amount_fen,
        "occurred_at": at.isoformat(),
    }
    if reason:
        data["reason"] = reason
    return payment_event_of(EVENT_OF[status], data, subject=str(row.id))


async def apply_reports(uow: UnitOfWork, reports: Sequence[Report]) -> Counter:
    """Apply provider reports; returns counts of applied, ignored (duplicate or stale) and unknown."""
    counts: Counter = Counter()
    if not reports:
        return counts
    rows = (
        await uow.session.execute(
            text(
                f"SELECT {_COLUMNS} FROM payments p JOIN batches b ON b.id = p.batch_id "
                "WHERE p.end_to_end_id = ANY(:e2e) ORDER BY p.id FOR UPDATE OF p"
            ),
            {"e2e": list({r.end_to_end_id for r in reports})},
        )
    ).all()
    by_e2e = {row.end_to_end_id: row for row in rows}
    current = {row.id: PaymentStatus(row.status) for row in rows}
    ledger: dict[uuid.UUID, Ledger] = {}
    last: dict[uuid.UUID, Report] = {}
    for report in reports:
        row = by_e2e.get(report.end_to_end_id)
        if row is None:
            counts["unknown"] += 1
            continue
        step = transition(current[row.id], report.state)
        if step is None:
            counts["ignored"] += 1
            continue
        counts["applied"] += 1
        current[row.id] = step.status
        ledger[row.id] = Ledger.POST_AND_REVERSE if row.id in ledger and step.ledger == Ledger.REVERSE else step.ledger
        last[row.id] = report
    if ledger:
        await _store(uow, rows, current, last)
        await uow.flush_events()
        # the ledger last: its account locks are held only from here to the commit
        await _book(uow, {row.id: row for row in rows if row.id in ledger}, ledger)
    return counts


async def _book(uow: UnitOfWork, rows: dict, ledger: dict[uuid.UUID, Ledger]) -> None:  # noqa: ANN001
    outcomes = {
        pid: TransferKind.VOID_PENDING if effect == Ledger.VOID else TransferKind.POST_PENDING
        for pid, effect in ledger.items()
        if effect != Ledger.REVERSE
    }
    await settle_many(uow.session, outcomes, "disbursement")
    reversals = [
        (
            uuid.uuid5(RETURN_NAMESPACE, str(pid)),
            rows[pid].expense_account or expense_account(rows[pid].policy_code, None),
            fund_account(rows[pid].fund_code),
            rows[pid].amount_fen,
            str(pid),
        )
        for pid, effect in ledger.items()
        if effect in (Ledger.REVERSE, Ledger.POST_AND_REVERSE)
    ]
    await reverse_many(uow.session, reversals, "payment_returned")


async def _store(uow: UnitOfWork, rows, current: dict, last: dict[uuid.UUID, Report]) -> None:  # noqa: ANN001
    changed = [row for row in rows if row.id in last]
    now = datetime.now(UTC)
    await uow.session.execute(
        text(
            "UPDATE payments p SET status = u.status, provider_ref = coalesce(u.ref, p.provider_ref), "
            "reason = coalesce(u.reason, p.reason), settled_at = now() "
            "FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS varchar[]), CAST(:refs AS varchar[]), "
            "CAST(:reasons AS text[])) AS u(id, status, ref, reason) WHERE p.id = u.id"
        ),
        {
            "ids": [r.id for r in changed],
            "statuses": [current[r.id].value for r in changed],
            "refs": [last[r.id].provider_ref for r in changed],
            "reasons": [last[r.id].reason for r in changed],
        },
    )
    for row in changed:
        report = last[row.id]
        reason = {"zh": report.reason, "en": report.reason} if report.reason else None
        uow.emit(payment_event(row, current[row.id], reason, report.occurred_at or now))


async def close_unpaid(uow: UnitOfWork, rows, status: PaymentStatus, reasons: dict[uuid.UUID, Reason]) -> None:  # noqa: ANN001
    """Held or failed before sending: release the reservation, record the reason, announce it."""
    if not rows:
        return
    await settle_many(uow.session, {r.id: TransferKind.VOID_PENDING for r in rows}, "disbursement")
    await uow.session.execute(
        text(
            "UPDATE payments p SET status = :s, reason = u.reason, settled_at = now() "
            "FROM unnest(CAST(:ids AS uuid[]), CAST(:reasons AS text[])) AS u(id, reason) WHERE p.id = u.id"
        ),
        {"s": status.value, "ids": [r.id for r in rows], "reasons": [reasons[r.id].en for r in rows]},
    )
    now = datetime.now(UTC)
    for row in rows:
        reason = reasons[row.id]
        uow.emit(payment_event(row, status, {"zh": reason.zh, "en": reason.en, "code": reason.code}, now))
