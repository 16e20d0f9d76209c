"""The fault test of issue 5: 10,000 payments against the simulator with 5 % failures, timeouts,
duplicate and out-of-order callbacks, and the relief service stopped and restarted mid-batch."""

import time

import httpx
import pytest
from relief_support import COUNTY, lines_for, publish_cycle, served_relief, wait_for
from sqlalchemy import text

from simulators.payments.app import create_app as create_payment_sim
from simulators.testing import running_simulator

N = 10_000


@pytest.mark.slow
async def test_ten_thousand_payments_under_faults_and_a_restart(
    migrated_database, nats_url, registry_people, tokens
) -> None:  # noqa: ANN001
    registry_url, persons = registry_people
    living = persons[:5]  # the sixth died before the payment date
    fm = tokens.headers(roles=["fund_manager"], region=COUNTY, sub="fm-1")
    auditor = tokens.headers(roles=["auditor"], region=COUNTY, sub="au-1")
    db_url = await migrated_database("relief")
    faults = dict(
        failure_rate=0.05,
        timeout_rate=0.3,
        hang_s=2.0,
        duplicate_rate=0.2,
        out_of_order_rate=0.2,
        return_rate=0.01,
        settle_delay_ms=100,
        settle_jitter_ms=400,
        seed=11,
        callback_batch_max=500,
    )
    relief_opts = dict(
        payment_timeout_seconds=1.0,
        query_after_seconds=1.0,
        batch_callbacks=True,
        payment_send_concurrency=4,
        payment_submit_chunk=500,
    )
    started = time.monotonic()
    async with running_simulator(create_payment_sim, **faults) as sim_url:
        async with served_relief(db_url, nats_url, sim_url, registry_url, **relief_opts) as (base, client):
            await client.post(
                "/v1/funds",
                headers=fm,
                json={
                    "code": "care_fund",
                    "kind": "care_fund",
                    "name_zh": "基金",
                    "name_en": "Care fund",
                    "region": COUNTY,
                },
            )
            await client.post(
                "/v1/funds/care_fund/allocations", headers=fm, json={"amount_fen": N * 96_000, "document_no": "d"}
            )
            cycle_id = await publish_cycle(nats_url, lines_for(living, N))

            async def reserved():  # noqa: ANN202
                batches = (await client.get("/v1/batches", headers=fm)).json()
                return next((b for b in batches if b["cycle_id"] == cycle_id and b["status"] == "reserved"), None)

            batch = await wait_for(reserved, timeout=60)
            assert (await client.post(f"/v1/batches/{batch['id']}/approve", headers=fm)).status_code == 200

            async def partly_settled():  # noqa: ANN202
                b = (await client.get(f"/v1/batches/{batch['id']}", headers=fm)).json()["payments_by_status"]
                return b.get("succeeded", 0) + b.get("failed", 0) >= N // 5

            await wait_for(partly_settled, timeout=60)
        # the service is down here: callbacks fail and are retried by the provider; then it comes back
        port = int(base.rsplit(":", 1)[1])
        async with served_relief(db_url, nats_url, sim_url, registry_url, port, **relief_opts) as (_, client):

            async def done():  # noqa: ANN202
                b = (await client.get(f"/v1/batches/{batch['id']}", headers=fm)).json()
                return b if b["status"] == "done" else None

            final = await wait_for(done, timeout=90, every=0.5)
            by_status = final["payments_by_status"]
            assert set(by_status) <= {"succeeded", "failed", "returned"} and sum(by_status.values()) == N, by_status
            assert by_status["failed"] > 0 and by_status["succeeded"] > 0
            invariant = (await client.get("/v1/ledger/invariant", headers=auditor)).json()
            assert invariant["ok"], invariant

            async with httpx.AsyncClient(timeout=60) as sim:

                async def provider_quiet():  # noqa: ANN202 - late returns still arrive after the batch is done
                    stats = (await sim.get(f"{sim_url}/_sim/stats")).json()
                    return stats if stats["pending_events"] == 0 and stats["callbacks_idle"] else None

                stats = await wait_for(provider_quiet, timeout=30)
                sim_payments = (await sim.get(f"{sim_url}/_sim/payments", params={"limit": N * 2})).json()
            assert sim_payments["total"] == N  # each payment booked once at the provider
            theirs = {p["end_to_end_id"]: p["state"] for p in sim_payments["payments"]}

            async def books_agree():  # noqa: ANN202
                async with client.app.state.runtime.uow() as uow:
                    ours = dict((await uow.session.execute(text("SELECT end_to_end_id, status FROM payments"))).all())
                diff = {k: (v, theirs.get(k)) for k, v in ours.items() if theirs.get(k) != v}
                return not diff

            await wait_for(books_agree, timeout=10)  # our books agree with the provider's for every payment
            final = (await client.get(f"/v1/batches/{batch['id']}", headers=fm)).json()
            by_status = final["payments_by_status"]
            invariant = (await client.get("/v1/ledger/invariant", headers=auditor)).json()
            assert invariant["ok"], invariant
            async with client.app.state.runtime.uow() as uow:
                posted = (
                    await uow.session.execute(text("SELECT count(*) FROM ledger_transfers WHERE kind = 'post_pending'"))
                ).scalar_one()
                fund = (
                    await uow.session.execute(
                        text(
                            "SELECT debits_posted, debits_pending, credits_posted FROM ledger_accounts "
                            "WHERE code = 'fund:care_fund'"
                        )
                    )
                ).one()
            assert posted == by_status["succeeded"] + by_status.get("returned", 0)
            assert fund.debits_pending == 0
            assert fund.debits_posted == 96_000 * (by_status["succeeded"] + by_status.get("returned", 0))
            assert fund.credits_posted == 96_000 * (N + by_status.get("returned", 0))  # returns came back
            assert stats["events"].get("timeouts_injected", 0) > 0
            assert stats["events"].get("callbacks_extra", 0) > 0
    assert time.monotonic() - started < 120
