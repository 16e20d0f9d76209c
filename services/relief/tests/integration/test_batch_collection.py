"""Cycle chunks → one batch on real PostgreSQL: lines wait until the batch is complete, then each payment is
written once, reserved with its pending transfer, or `new` in a refused batch; idempotent throughout."""

import asyncio
import uuid

from relief_support import open_accounts
from sqlalchemy import text

from relief.domain.ledger import Transfer, TransferKind
from relief.service.batches import reserve_batch, take_cycle_chunk
from relief.service.invariant import check_ledger
from relief.service.ledger import create_transfer

AMOUNT = 1_000


async def fund(app, code: str, amount: int) -> None:  # noqa: ANN001
    await open_accounts(app, ("income:budget", "income", False), (f"fund:{code}", "fund", True))
    async with app.state.runtime.uow() as uow:
        transfer = Transfer(str(uuid.uuid4()), "income:budget", f"fund:{code}", amount, TransferKind.POSTED)
        await create_transfer(uow.session, transfer)
        await uow.commit()


def line(subject: uuid.UUID | None = None) -> dict:
    person = str(uuid.uuid4())
    return {
        "line_id": str(uuid.uuid4()),
        "subject_kind": "household",
        "subject_id": str(subject or uuid.uuid4()),
        "payee_person_id": person,
        "household_id": person,
        "region_code": "360702001001",
        "amount_fen": AMOUNT,
    }


def chunk(cycle: uuid.UUID, fund_code: str, n: int, lines: list[list[dict]]) -> dict:
    total = sum(len(c) for c in lines)
    return {
        "cycle_id": str(cycle),
        "policy_code": "collect_test",
        "policy_version": 1,
        "period": "2026",
        "fund": fund_code,
        "benefit_kind": "cash_yearly",
        "chunk": n,
        "chunks": len(lines),
        "total_lines": total,
        "total_amount_fen": total * AMOUNT,
        "approved_by": "approver",
        "lines": lines[n - 1],
    }


async def take(app, data: dict) -> None:  # noqa: ANN001
    async with app.state.runtime.uow() as uow:
        await take_cycle_chunk(uow, data)
        await uow.commit()


async def batch_state(app, cycle: uuid.UUID) -> tuple[str, dict[str, int], int, int]:  # noqa: ANN001
    """(batch status, payments by status, pending transfers of the batch, chunks still waiting)."""
    async with app.state.runtime.uow() as uow:
        s = uow.session
        batch = (await s.execute(text("SELECT id, status FROM batches WHERE cycle_id = :c"), {"c": cycle})).one()
        by_status = dict(
            (
                await s.execute(
                    text("SELECT status, count(*) FROM payments WHERE batch_id = :b GROUP BY status"), {"b": batch.id}
                )
            ).all()
        )
        pending = (
            await s.execute(
                text(
                    "SELECT count(*) FROM ledger_transfers t JOIN payments p ON p.id = t.id "
                    "WHERE p.batch_id = :b AND t.kind = 'pending'"
                ),
                {"b": batch.id},
            )
        ).scalar_one()
        waiting = (
            await s.execute(text("SELECT count(*) FROM batch_chunks WHERE batch_id = :b"), {"b": batch.id})
        ).scalar_one()
    return batch.status, by_status, pending, waiting


async def test_lines_wait_for_the_last_chunk_then_are_reserved_once(relief) -> None:  # noqa: ANN001
    app = relief.app
    await fund(app, "collect_ok", 100 * AMOUNT)
    in_flight = uuid.uuid4()  # a beneficiary already in another cycle's live batch: skipped here
    await take(app, chunk(uuid.uuid4(), "collect_ok", 1, [[line(in_flight)]]))
    cycle = uuid.uuid4()
    first, second, third = [line() for _ in range(4)], [line() for _ in range(3)], [line(in_flight), line()]
    third.append(dict(first[0]))  # a line sent twice: one payment
    chunks = [first, second, third]
    await take(app, chunk(cycle, "collect_ok", 3, chunks))
    await take(app, chunk(cycle, "collect_ok", 1, chunks))
    await take(app, chunk(cycle, "collect_ok", 1, chunks))  # redelivered
    assert await batch_state(app, cycle) == ("collecting", {}, 0, 2)
    await take(app, chunk(cycle, "collect_ok", 2, chunks))
    assert await batch_state(app, cycle) == ("reserved", {"reserved": 8}, 8, 0)
    await take(app, chunk(cycle, "collect_ok", 2, chunks))  # redelivered after the reservation: nothing changes
    assert await batch_state(app, cycle) == ("reserved", {"reserved": 8}, 8, 0)
    async with app.state.runtime.uow() as uow:
        available = (
            await uow.session.execute(
                text(
                    "SELECT credits_posted - debits_posted - debits_pending FROM ledger_accounts "
                    "WHERE code = 'fund:collect_ok'"
                )
            )
        ).scalar_one()
    async with app.state.runtime.uow() as uow:
        report = await check_ledger(uow.session)
    assert available == (100 - 1 - 8) * AMOUNT
    assert report.ok, report.problems


async def test_a_short_fund_leaves_new_payments_that_are_reserved_later(relief) -> None:  # noqa: ANN001
    app = relief.app
    await fund(app, "collect_short", 5 * AMOUNT)
    cycle = uuid.uuid4()
    chunks = [[line() for _ in range(4)], [line() for _ in range(3)]]
    for n in (1, 2):
        await take(app, chunk(cycle, "collect_short", n, chunks))
    assert await batch_state(app, cycle) == ("refused", {"new": 7}, 0, 0)
    await fund(app, "collect_short", 2 * AMOUNT)
    async with app.state.runtime.uow() as uow:
        batch_id = (
            await uow.session.execute(text("SELECT id FROM batches WHERE cycle_id = :c"), {"c": cycle})
        ).scalar_one()
        assert await reserve_batch(uow, batch_id)
        await uow.commit()
    assert await batch_state(app, cycle) == ("reserved", {"reserved": 7}, 7, 0)


async def test_batches_completing_together_never_overdraw_the_fund(relief) -> None:  # noqa: ANN001
    app = relief.app
    await fund(app, "collect_race", 10 * AMOUNT)
    cycles = [uuid.uuid4() for _ in range(4)]
    chunks = {c: [[line() for _ in range(2)], [line() for _ in range(2)]] for c in cycles}
    for c in cycles:
        await take(app, chunk(c, "collect_race", 1, chunks[c]))
    await asyncio.gather(*(take(app, chunk(c, "collect_race", 2, chunks[c])) for c in cycles))
    states = [await batch_state(app, c) for c in cycles]
    assert sorted(s[0] for s in states) == ["refused", "refused", "reserved", "reserved"]
    for status, by_status, pending, waiting in states:
        expected = ({"reserved": 4}, 4) if status == "reserved" else ({"new": 4}, 0)
        assert (by_status, pending, waiting) == (*expected, 0)
    async with app.state.runtime.uow() as uow:
        report = await check_ledger(uow.session)
    assert report.ok, report.problems
