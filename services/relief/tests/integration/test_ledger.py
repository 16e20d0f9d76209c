"""The ledger on real PostgreSQL: idempotent transfers, two phases, concurrency, append-only journal."""

import asyncio
import uuid

import pytest
from relief_support import COUNTY, open_accounts
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from relief.domain.ledger import LedgerError, TransferKind
from relief.service.invariant import check_ledger
from relief.service.ledger import Reservation, reserve_many, settle_many


@pytest.fixture
def manager(tokens) -> dict[str, str]:  # noqa: ANN001
    return tokens.headers(roles=["fund_manager"], region=COUNTY, sub="fm-1")


@pytest.fixture
def auditor(tokens) -> dict[str, str]:  # noqa: ANN001
    return tokens.headers(roles=["auditor"], region=COUNTY, sub="au-1")


async def fund(relief, manager, code: str, amount: int) -> None:  # noqa: ANN001
    await open_accounts(
        relief.app, ("income:budget", "income", False), (code, "fund", True), ("expense:test", "expense", False)
    )
    response = await relief.post(
        "/v1/ledger/transfers",
        headers=manager,
        json={"id": str(uuid.uuid4()), "debit_account": "income:budget", "credit_account": code, "amount_fen": amount},
    )
    assert response.status_code == 201, response.text


async def balances(relief, auditor) -> dict[str, dict]:  # noqa: ANN001
    response = await relief.get("/v1/ledger/accounts", headers=auditor)
    assert response.status_code == 200, response.text
    return {a["code"]: a for a in response.json()}


async def test_transfer_ids_are_idempotent(relief, manager, auditor) -> None:  # noqa: ANN001
    await fund(relief, manager, "fund:idem", 1000)
    body = {"id": str(uuid.uuid4()), "debit_account": "fund:idem", "credit_account": "expense:test", "amount_fen": 300}
    first = await relief.post("/v1/ledger/transfers", headers=manager, json=body)
    again = await relief.post("/v1/ledger/transfers", headers=manager, json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    other = await relief.post("/v1/ledger/transfers", headers=manager, json=body | {"amount_fen": 301})
    assert other.status_code == 409 and other.json()["type"] == "urn:guanhuai:problem:transfer-id-reused"
    assert other.headers["content-type"] == "application/problem+json"
    assert (await balances(relief, auditor))["fund:idem"]["available"] == 700


async def test_bad_transfers_are_refused_and_change_nothing(relief, manager, auditor) -> None:  # noqa: ANN001
    await fund(relief, manager, "fund:bad", 500)
    before = await balances(relief, auditor)
    base = {"debit_account": "fund:bad", "credit_account": "expense:test"}
    cases = [
        (base | {"amount_fen": 0}, 422, "validation-error"),
        (base | {"amount_fen": -5}, 422, "validation-error"),
        (base | {"amount_fen": 501}, 422, "insufficient-funds"),
        (base | {"amount_fen": 10, "credit_account": "expense:nope"}, 422, "unknown-account"),
        (base | {"amount_fen": 10, "kind": "post_pending", "pending_id": str(uuid.uuid4())}, 422, "pending-not-found"),
    ]
    for body, status, slug in cases:
        response = await relief.post("/v1/ledger/transfers", headers=manager, json=body | {"id": str(uuid.uuid4())})
        assert response.status_code == status, response.text
        assert response.json()["type"] == f"urn:guanhuai:problem:{slug}"
        assert response.json()["title_zh"]
    assert await balances(relief, auditor) == before


async def test_two_phase_post_and_void_once_only(relief, manager, auditor) -> None:  # noqa: ANN001
    await fund(relief, manager, "fund:two", 1000)
    pending = {
        "id": str(uuid.uuid4()),
        "debit_account": "fund:two",
        "credit_account": "expense:test",
        "amount_fen": 400,
        "kind": "pending",
    }
    assert (await relief.post("/v1/ledger/transfers", headers=manager, json=pending)).status_code == 201
    assert (await balances(relief, auditor))["fund:two"]["available"] == 600
    post = pending | {"id": str(uuid.uuid4()), "kind": "post_pending", "pending_id": pending["id"]}
    assert (await relief.post("/v1/ledger/transfers", headers=manager, json=post)).status_code == 201
    void = post | {"id": str(uuid.uuid4()), "kind": "void_pending"}
    refused = await relief.post("/v1/ledger/transfers", headers=manager, json=void)
    assert refused.status_code == 409 and refused.json()["type"].endswith("pending-already-resolved")
    fund_row = (await balances(relief, auditor))["fund:two"]
    assert (fund_row["debits_posted"], fund_row["debits_pending"], fund_row["available"]) == (400, 0, 600)


async def test_many_parallel_reservations_never_overdraw(relief, manager, auditor) -> None:  # noqa: ANN001
    await fund(relief, manager, "fund:race", 1000)

    async def reserve() -> int:
        response = await relief.post(
            "/v1/ledger/transfers",
            headers=manager,
            json={
                "id": str(uuid.uuid4()),
                "debit_account": "fund:race",
                "credit_account": "expense:test",
                "amount_fen": 30,
                "kind": "pending",
            },
        )
        return response.status_code

    statuses = await asyncio.gather(*(reserve() for _ in range(60)))
    assert statuses.count(201) == 33 and statuses.count(422) == 27
    assert (await balances(relief, auditor))["fund:race"]["available"] == 10
    invariant = await relief.get("/v1/ledger/invariant", headers=auditor)
    assert invariant.json()["ok"] is True, invariant.json()


async def test_parallel_bulk_reservations_are_all_or_nothing(relief, manager, auditor) -> None:  # noqa: ANN001
    await fund(relief, manager, "fund:bulk", 100_000)
    runtime = relief.app.state.runtime

    async def reserve_batch() -> bool:
        items = [Reservation(uuid.uuid4(), "expense:test", 100, "b") for _ in range(300)]
        async with runtime.uow() as uow:
            try:
                await reserve_many(uow.session, "fund:bulk", items, "test")
            except LedgerError:
                return False
            await uow.commit()
            return True

    results = await asyncio.gather(*(reserve_batch() for _ in range(8)))
    assert results.count(True) == 3  # 3 × 30,000 fits in 100,000; a fourth batch would not
    assert (await balances(relief, auditor))["fund:bulk"]["available"] == 10_000
    async with runtime.uow() as uow:
        report = await check_ledger(uow.session)
    assert report.ok, report.problems


async def test_bulk_settlement_settles_each_pending_once(relief, manager, auditor) -> None:  # noqa: ANN001
    await fund(relief, manager, "fund:settle", 10_000)
    runtime = relief.app.state.runtime
    items = [Reservation(uuid.uuid4(), "expense:test", 100, "s") for _ in range(10)]
    async with runtime.uow() as uow:
        await reserve_many(uow.session, "fund:settle", items, "test")
        await uow.commit()
    outcomes = {
        i.transfer_id: TransferKind.POST_PENDING if n < 7 else TransferKind.VOID_PENDING for n, i in enumerate(items)
    }

    async def settle(values: dict) -> set:  # noqa: ANN001
        async with runtime.uow() as uow:
            done = await settle_many(uow.session, values, "test")
            await uow.commit()
            return done

    first, second = await asyncio.gather(settle(outcomes), settle(outcomes))
    assert len(first | second) == 10 and not first & second
    flipped = {k: TransferKind.VOID_PENDING for k in outcomes}
    assert await settle(flipped) == set()  # a late contrary result cannot settle twice
    row = (await balances(relief, auditor))["fund:settle"]
    assert (row["debits_posted"], row["debits_pending"], row["available"]) == (700, 0, 9_300)


async def test_journal_is_append_only(relief, manager) -> None:  # noqa: ANN001
    await fund(relief, manager, "fund:ro", 100)
    runtime = relief.app.state.runtime
    for statement in (
        "UPDATE ledger_transfers SET amount = amount + 1",
        "DELETE FROM ledger_transfers",
        "TRUNCATE ledger_transfers CASCADE",
    ):
        async with runtime.uow() as uow:
            with pytest.raises(DBAPIError, match="append-only"):
                await uow.session.execute(text(statement))


async def test_balance_check_constraint_is_the_last_line(relief, manager) -> None:  # noqa: ANN001
    await fund(relief, manager, "fund:cc", 100)
    async with relief.app.state.runtime.uow() as uow:
        with pytest.raises(DBAPIError, match="ledger_fund_not_overdrawn"):
            await uow.session.execute(text("UPDATE ledger_accounts SET debits_posted = 101 WHERE code = 'fund:cc'"))


async def test_invariant_api_and_cli_detect_tampering(relief, manager, auditor) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from relief.cli import app as cli

    await fund(relief, manager, "fund:tamper", 100)
    url = relief.app.state.test_database_url
    ok = await asyncio.to_thread(CliRunner().invoke, cli, ["check-ledger", "--database-url", url])
    assert ok.exit_code == 0, ok.output
    async with relief.app.state.runtime.uow() as uow:  # a balance edited behind the ledger's back
        await uow.session.execute(
            text("UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE code = 'fund:tamper'")
        )
        await uow.commit()
    report = (await relief.get("/v1/ledger/invariant", headers=auditor)).json()
    assert report["ok"] is False and any("fund:tamper" in p for p in report["problems"])
    bad = await asyncio.to_thread(CliRunner().invoke, cli, ["check-ledger", "--database-url", url])
    assert bad.exit_code == 1
    async with relief.app.state.runtime.uow() as uow:
        await uow.session.execute(
            text("UPDATE ledger_accounts SET credits_posted = credits_posted - 1 WHERE code = 'fund:tamper'")
        )
        await uow.commit()


async def test_roles(relief, tokens) -> None:  # noqa: ANN001
    caseworker = tokens.headers(roles=["caseworker"], region="360702")
    assert (await relief.get("/v1/ledger/invariant", headers=caseworker)).status_code == 403
    assert (await relief.post("/v1/ledger/transfers", headers=caseworker, json={})).status_code in (403, 422)
