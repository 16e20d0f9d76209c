"""Payment batches from approved benefit cycles (contract C2): collect, reserve, approve."""

import uuid
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from carekit.db.uow import UnitOfWork
from carekit.logging import get_logger
from relief.domain.disbursement import PaymentStatus, batch_shortfall_reason
from relief.domain.funds import expense_account, fund_account
from relief.domain.ledger import LedgerError
from relief.service.ledger import account_region, available, ensure_account, reserve_selected

log = get_logger(__name__)


class BatchError(Exception):
    def __init__(self, code: str, message: str, zh: str, status: int = 409) -> None:
        super().__init__(message)
        self.code, self.message, self.zh, self.status = code, message, zh, status


_COLLECT_CHUNK = text(
    "INSERT INTO batch_chunks (batch_id, chunk, line_ids, subject_kinds, subject_ids, payee_person_ids, household_ids, "
    "region_codes, amounts_fen) VALUES (:batch, :chunk, CAST(:lines AS uuid[]), CAST(:kinds AS varchar[]), "
    "CAST(:subjects AS uuid[]), CAST(:payees AS uuid[]), CAST(:households AS uuid[]), CAST(:regions AS varchar[]), "
    "CAST(:amounts AS bigint[])) ON CONFLICT DO NOTHING"
)


def _write_collected(status: str) -> str:
    """WITH item `written`: the batch's collected lines as payments in `status`; a line already known
    (line_id) or paid or in flight (subject, policy, period) is skipped."""
    return f"""written AS (
    INSERT INTO payments (id, batch_id, line_id, policy_code, period, subject_kind, subject_id, payee_person_id,
                          household_id, region_code, amount_fen, end_to_end_id, status)
    SELECT l.pid, b.id, l.line_id, b.policy_code, b.period, l.kind, l.subject, l.payee, l.household, l.region,
           l.amount, 'GH' || upper(replace(l.pid::text, '-', '')), '{status}'
    FROM batches b, LATERAL (
        SELECT gen_random_uuid() AS pid, u.*
        FROM batch_chunks c, unnest(c.line_ids, c.subject_kinds, c.subject_ids, c.payee_person_ids, c.household_ids,
                                    c.region_codes, c.amounts_fen) AS u(line_id, kind, subject, payee, household,
                                                                        region, amount)
        WHERE c.batch_id = b.id
    ) l
    WHERE b.id = :batch
    ON CONFLICT DO NOTHING
    RETURNING id, amount_fen, batch_id
)"""


# what a reservation covers: the collected lines, written now, and the payments of a batch refused before
_RESERVABLE = (
    "SELECT id, amount_fen AS amount, CAST(batch_id AS varchar) AS reference FROM written UNION ALL "
    "SELECT id, amount_fen, CAST(batch_id AS varchar) FROM payments WHERE batch_id = :batch AND status = 'new'"
)


async def take_cycle_chunk(uow: UnitOfWork, data: dict) -> None:
    """One `entitlements.cycle.approved` chunk, kept as received; the last chunk reserves the batch, which
    writes its payments.

    Idempotent on (cycle_id, chunk) (the chunk numbers received are kept on the batch) and on
    line_id (and on (subject, policy, period): a line already paid or in flight is skipped).
    """
    s = uow.session
    cycle_id = uuid.UUID(data["cycle_id"])
    await s.execute(
        text(
            "INSERT INTO batches (id, cycle_id, policy_code, policy_version, period, fund_code, benefit_kind, chunks, "
            "total_lines, total_amount_fen, status, created_by) "
            "VALUES (:id, :cycle, :policy, :version, :period, :fund, "
            ":kind, :chunks, :lines, :amount, 'collecting', :by) ON CONFLICT (cycle_id) DO NOTHING"
        ),
        {
            "id": uuid.uuid4(),
            "cycle": cycle_id,
            "policy": data["policy_code"],
            "version": data["policy_version"],
            "period": data["period"],
            "fund": data["fund"],
            "kind": data.get("benefit_kind", ""),
            "chunks": data["chunks"],
            "lines": data["total_lines"],
            "amount": data["total_amount_fen"],
            "by": data.get("approved_by", "entitlements"),
        },
    )
    batch = (
        await s.execute(
            text("SELECT id, chunks, chunks_received, status FROM batches WHERE cycle_id = :c FOR UPDATE"),
            {"c": cycle_id},
        )
    ).one()
    if data["chunk"] in batch.chunks_received:
        return
    lines = data["lines"]
    await s.execute(
        _COLLECT_CHUNK,
        {
            "batch": batch.id,
            "chunk": data["chunk"],
            "lines": [ln["line_id"] for ln in lines],
            "kinds": [ln["subject_kind"] for ln in lines],
            "subjects": [ln["subject_id"] for ln in lines],
            "payees": [ln["payee_person_id"] for ln in lines],
            "households": [ln["household_id"] for ln in lines],
            "regions": [ln["region_code"] for ln in lines],
            "amounts": [ln["amount_fen"] for ln in lines],
        },
    )
    received = sorted({*batch.chunks_received, data["chunk"]})
    await s.execute(
        text("UPDATE batches SET chunks_received = :r, updated_at = now() WHERE id = :id"),
        {"r": received, "id": batch.id},
    )
    if len(received) >= batch.chunks and batch.status == "collecting":
        await reserve_batch(uow, batch.id)


async def reserve_batch(uow: UnitOfWork, batch_id: uuid.UUID) -> bool:
    """Reserve the whole batch at once, or refuse it with the reason.

    The collected lines become payments here, each written once: `reserved` together with its pending
    transfer, or `new` when the batch is refused. A refused batch's `new` payments are reserved again later.
    """
    s = uow.session
    batch = (await s.execute(text("SELECT * FROM batches WHERE id = :id FOR UPDATE"), {"id": batch_id})).one()
    if batch.status not in ("collecting", "refused"):
        raise BatchError(
            "wrong-status",
            f"The batch is {batch.status}; only a refused batch is reserved again.",
            f"批次当前状态为 {batch.status}，只有被拒绝的批次可重新预留。",
        )
    fund = fund_account(batch.fund_code)
    region = await account_region(s, fund)
    credit = expense_account(batch.policy_code, region)
    await ensure_account(s, credit, "expense", f"{batch.policy_code} 发放", f"{batch.policy_code} paid", region=region)
    params = {"batch": batch_id}
    try:
        await reserve_selected(
            s, fund, credit, _RESERVABLE, params, "disbursement", writes=_write_collected(PaymentStatus.RESERVED)
        )
    except LedgerError as exc:
        await s.execute(text(f"WITH {_write_collected(PaymentStatus.NEW)} SELECT count(*) FROM written"), params)
        await _forget_collected(s, batch_id)
        await _refuse(s, batch, exc)
        return False
    await _forget_collected(s, batch_id)
    # the `new` payments of a batch refused before, now covered too (none on a first reservation)
    await s.execute(
        text("UPDATE payments SET status = 'reserved' WHERE batch_id = :id AND status = 'new'"), {"id": batch_id}
    )
    await s.execute(
        text(
            "UPDATE batches SET status = 'reserved', refusal_en = NULL, refusal_zh = NULL, updated_at = now() "
            "WHERE id = :id"
        ),
        {"id": batch_id},
    )
    return True


async def approve_batch(uow: UnitOfWork, batch_id: uuid.UUID, actor: str, payment_date: date) -> None:
    s = uow.session
    batch = (
        await s.execute(text("SELECT status, created_by FROM batches WHERE id = :id FOR UPDATE"), {"id": batch_id})
    ).one()
    if actor == batch.created_by:
        raise BatchError(
            "maker-checker",
            "Whoever approved the cycle may not approve its payment batch.",
            "批准发放周期的人不得审批其支付批次。",
            status=403,
        )
    if batch.status != "reserved":
        raise BatchError(
            "wrong-status",
            f"The batch is {batch.status}; only a reserved batch can be approved.",
            f"批次当前状态为 {batch.status}，只有已预留资金的批次可以审批。",
        )
    await s.execute(
        text(
            "UPDATE batches SET status = 'sending', approved_by = :a, approved_at = now(), payment_date = :d, "
            "updated_at = now() WHERE id = :id"
        ),
        {"a": actor, "d": payment_date, "id": batch_id},
    )


async def _forget_collected(s: AsyncSession, batch_id: uuid.UUID) -> None:
    await s.execute(text("DELETE FROM batch_chunks WHERE batch_id = :id"), {"id": batch_id})


async def _refuse(s: AsyncSession, batch, exc: LedgerError) -> None:  # noqa: ANN001 - a Row
    fund = fund_account(batch.fund_code)
    if exc.code == "insufficient-funds":
        needed = (
            await s.execute(
                text("SELECT coalesce(sum(amount_fen), 0) FROM payments WHERE batch_id = :id AND status = 'new'"),
                {"id": batch.id},
            )
        ).scalar_one()
        reason = batch_shortfall_reason(batch.fund_code, await available(s, fund), needed)
        en, zh = reason.en, reason.zh
    else:
        en, zh = exc.message, exc.zh
    await s.execute(
        text(
            "UPDATE batches SET status = 'refused', refusal_en = :en, refusal_zh = :zh, updated_at = now() "
            "WHERE id = :id"
        ),
        {"en": en, "zh": zh, "id": batch.id},
    )
    log.warning("batch refused", batch_id=str(batch.id), reason=en)
