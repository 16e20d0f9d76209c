"""Scheduled disbursement end to end: cycle events → batch → reservation → approval → the REAL registry
→ the payment simulator → callbacks → ledger, events, disclosure. Real PostgreSQL and NATS."""

import asyncio
import hashlib
import hmac
import json

import httpx
import nats
import pytest
from relief_support import COUNTY, SECRET, lines_for, publish_cycle, served_relief, wait_for

from simulators.payments.app import create_app as create_payment_sim
from simulators.testing import running_simulator


@pytest.fixture
def people(tokens) -> dict:  # noqa: ANN001
    return {
        "fm": tokens.headers(roles=["fund_manager"], region=COUNTY, sub="fm-1"),
        "fm2": tokens.headers(roles=["fund_manager"], region=COUNTY, sub="ent-approver"),
        "auditor": tokens.headers(roles=["auditor"], region=COUNTY, sub="au-1"),
        "cw": tokens.headers(roles=["caseworker"], region=COUNTY, sub="cw-1"),
    }


async def _open_fund(client: httpx.AsyncClient, fm: dict, amount: int) -> None:
    await client.post(
        "/v1/funds",
        headers=fm,
        json={
            "code": "care_fund",
            "kind": "care_fund",
            "name_zh": "生育关怀基金",
            "name_en": "Care fund",
            "region": COUNTY,
        },
    )
    r = await client.post(
        "/v1/funds/care_fund/allocations", headers=fm, json={"amount_fen": amount, "document_no": "d"}
    )
    assert r.status_code == 201, r.text


async def _batch_of(client: httpx.AsyncClient, headers: dict, cycle_id: str, status: str | None = None):  # noqa: ANN202
    async def probe():  # noqa: ANN202
        batches = (await client.get("/v1/batches", headers=headers)).json()
        found = [b for b in batches if b["cycle_id"] == cycle_id and (status is None or b["status"] == status)]
        return found[0] if found else None

    return await wait_for(probe, timeout=60)


async def test_cycle_to_payments_with_faults(migrated_database, nats_url, registry_people, people) -> None:  # noqa: ANN001
    registry_url, persons = registry_people
    db_url = await migrated_database("relief")
    nc = await nats.connect(nats_url)
    seen: list[dict] = []

    async def collect(msg) -> None:  # noqa: ANN001
        seen.append(json.loads(msg.data))

    await nc.subscribe("relief.payment.>", cb=collect)
    async with (
        running_simulator(
            create_payment_sim,
            settle_delay_ms=30,
            duplicate_rate=0.5,
            out_of_order_rate=0.3,
            return_rate=0.2,
            return_delay_ms=3000,
            failure_rate=0.0,
            seed=7,
        ) as sim_url,
        served_relief(db_url, nats_url, sim_url, registry_url) as (_base, client),
    ):
        await _open_fund(client, people["fm"], 10_000_000)
        lines = lines_for(persons, 60)
        cycle_id = await publish_cycle(nats_url, lines, chunk_size=25, repeat_first=True)
        batch = await _batch_of(client, people["fm"], cycle_id, "reserved")
        assert batch["payments_by_status"] == {"reserved": 60}
        fund = (await client.get("/v1/funds/care_fund", headers=people["fm"])).json()
        assert fund["reserved_fen"] == 60 * 96_000

        own = await client.post(f"/v1/batches/{batch['id']}/approve", headers=people["fm2"])
        assert own.status_code == 403 and own.json()["type"].endswith("maker-checker")
        ok = await client.post(f"/v1/batches/{batch['id']}/approve", headers=people["fm"])
        assert ok.status_code == 200, ok.text
        done = await _batch_of(client, people["fm"], cycle_id, "done")
        held = 10  # every sixth payee died on 2026-01-01, before the payment date
        assert done["payments_by_status"] == {"succeeded": 50, "held": held}, done
        async with httpx.AsyncClient() as sim:  # from now on no callback reaches us: returns come unheard
            await sim.put(
                f"{sim_url}/_sim/merchants/guanhuai-relief",
                json={"callback_url": "http://127.0.0.1:9/nowhere", "secret": SECRET},
            )

        payments = (
            await client.get(f"/v1/batches/{batch['id']}/payments", headers=people["fm"], params={"status": "held"})
        ).json()
        assert all("2026-01-01" in p["reason"] for p in payments)
        fund = (await client.get("/v1/funds/care_fund", headers=people["fm"])).json()
        assert (fund["reserved_fen"], fund["available_fen"]) == (0, 10_000_000 - 50 * 96_000)
        invariant = (await client.get("/v1/ledger/invariant", headers=people["auditor"])).json()
        assert invariant["ok"], invariant

        sim_payments = (await httpx.AsyncClient().get(f"{sim_url}/_sim/payments")).json()
        assert sim_payments["total"] == 50  # never sent twice, never sent for the dead

        disclosure = (await client.get(f"/v1/batches/{batch['id']}/disclosure", headers=people["cw"])).json()
        assert len(disclosure) == 50 and {d["name"] for d in disclosure} >= {"王*国", "张*三", "欧*明", "赵*"}
        csv_text = (
            await client.get(f"/v1/batches/{batch['id']}/disclosure", headers=people["cw"], params={"format": "csv"})
        ).content.decode("utf-8-sig")
        assert csv_text.splitlines()[0].startswith("姓名") and "960.00" in csv_text and "王建国" not in csv_text

        await _reconcile_unheard_returns(client, people, sim_url, batch["id"])
        await wait_for(lambda: _count(seen, 60))
        types = {e["type"] for e in seen}
        assert types == {"relief.payment.succeeded", "relief.payment.held", "relief.payment.returned"}
        first = [e for e in seen if e["type"] != "relief.payment.returned"]
        assert len({e["data"]["payment_id"] for e in first}) == len(first) == 60  # duplicates absorbed
        assert not any(k in e["data"] for e in seen for k in ("name", "bank_card", "id_number", "phone"))
    await nc.close()


async def _reconcile_unheard_returns(client: httpx.AsyncClient, people: dict, sim_url: str, batch_id: str) -> None:
    async with httpx.AsyncClient() as sim:

        async def quiet():  # noqa: ANN202
            stats = (await sim.get(f"{sim_url}/_sim/stats")).json()
            return stats if stats["pending_events"] == 0 else None

        stats = await wait_for(quiet, timeout=30)
    returned = stats["by_state"].get("returned", 0)
    assert returned > 0
    run = await client.post("/v1/reconciliations", headers=people["auditor"], json={})
    assert run.status_code == 201, run.text
    found = run.json()
    assert (len(found["different"]), found["missing"], found["extra"], found["applied"]) == (returned, [], [], 0)
    assert {d["theirs"] for d in found["different"]} == {"returned"}
    fixed = (await client.post("/v1/reconciliations", headers=people["fm"], json={"apply": True})).json()
    assert fixed["applied"] == returned
    clean = (await client.post("/v1/reconciliations", headers=people["auditor"], json={})).json()
    assert (clean["different"], clean["missing"], clean["extra"]) == ([], [], [])
    batch = (await client.get(f"/v1/batches/{batch_id}", headers=people["fm"])).json()
    assert batch["payments_by_status"]["returned"] == returned
    fund = (await client.get("/v1/funds/care_fund", headers=people["fm"])).json()
    assert fund["available_fen"] == 10_000_000 - (50 - returned) * 96_000  # returned money is back
    assert (await client.get("/v1/ledger/invariant", headers=people["auditor"])).json()["ok"]
    report = (
        await client.get("/v1/reports/disbursed", headers=people["fm"], params={"group_by": ["policy", "region"]})
    ).json()
    assert report == [
        {
            "policy": "rural_reward",
            "region": "360702001",
            "month": None,
            "payments": 50 - returned,
            "beneficiaries": 50 - returned,
            "amount_fen": (50 - returned) * 96_000,
        }
    ]
    balances = (await client.get("/v1/reports/fund-balances", headers=people["fm"])).json()
    assert balances[0]["available_fen"] == fund["available_fen"]


async def _count(seen: list, n: int) -> bool:
    return len(seen) >= n


async def test_short_fund_refuses_the_whole_batch(migrated_database, nats_url, registry_people, people) -> None:  # noqa: ANN001
    registry_url, persons = registry_people
    db_url = await migrated_database("relief")
    async with (
        running_simulator(create_payment_sim) as sim_url,
        served_relief(db_url, nats_url, sim_url, registry_url) as (_base, client),
    ):
        await _open_fund(client, people["fm"], 100_000)
        cycle_id = await publish_cycle(nats_url, lines_for(persons, 5, amount=30_000))
        batch = await _batch_of(client, people["fm"], cycle_id, "refused")
        assert "short" in batch["refusal_en"] and "尚缺" in batch["refusal_zh"]
        assert batch["payments_by_status"] == {"new": 5}
        fund = (await client.get("/v1/funds/care_fund", headers=people["fm"])).json()
        assert (fund["reserved_fen"], fund["available_fen"]) == (0, 100_000)
        refused = await client.post(f"/v1/batches/{batch['id']}/approve", headers=people["fm"])
        assert refused.status_code == 409
        again = await client.post(f"/v1/batches/{batch['id']}/reserve", headers=people["fm"])
        assert again.status_code == 422 and again.json()["type"].endswith("insufficient-funds")
        await client.post(
            "/v1/funds/care_fund/allocations",
            headers=people["fm"],
            json={"amount_fen": 50_000, "document_no": "top-up"},
        )
        again = await client.post(f"/v1/batches/{batch['id']}/reserve", headers=people["fm"])
        assert again.status_code == 200 and again.json()["status"] == "reserved", again.text


async def test_bad_callbacks_change_nothing(migrated_database, nats_url, registry_people, people) -> None:  # noqa: ANN001
    registry_url, _ = registry_people
    db_url = await migrated_database("relief")
    async with (
        running_simulator(create_payment_sim) as sim_url,
        served_relief(db_url, nats_url, sim_url, registry_url) as (base, client),
    ):
        await _open_fund(client, people["fm"], 1000)
        before = (await client.get("/v1/ledger/accounts", headers=people["auditor"])).json()
        body = json.dumps(
            {"end_to_end_id": "GH0000", "state": "succeeded", "provider_ref": "X", "reason": None, "occurred_at": None}
        ).encode()
        forged = await client.post(
            "/v1/provider-callbacks/simulator", content=body, headers={"X-Sim-Signature": "sha256=" + "0" * 64}
        )
        assert forged.status_code == 401 and forged.headers["content-type"] == "application/problem+json"
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        unknown = await client.post(
            "/v1/provider-callbacks/simulator", content=body, headers={"X-Sim-Signature": signature}
        )
        assert unknown.status_code == 404 and unknown.json()["type"].endswith("unknown-payment")
        assert (await client.get("/v1/ledger/accounts", headers=people["auditor"])).json() == before
        bad_file = await client.post(
            "/v1/reconciliations/result-files",
            headers={**people["auditor"], "Content-Type": "text/csv"},
            content=b"H,GUANHUAI-RES,1,b,2,100\r\nT,1,100\r\n",
        )
        assert bad_file.status_code == 422 and bad_file.json()["type"].endswith("bad-result-file")
        metrics = (await client.get("/metrics")).text
        assert 'relief_provider_callbacks_total{outcome="rejected",provider="simulator"}' in metrics
        await asyncio.sleep(0)


async def test_unanswered_submit_is_queried_at_once_then_sent_again(
    migrated_database, nats_url, registry_people, people
) -> None:  # noqa: ANN001
    """Submits answered 503 (nothing booked) are queried right away, not after `query_after_seconds`
    (here far longer than the test may take): `unknown` → sent again with the same ids, paid once."""
    registry_url, persons = registry_people
    db_url = await migrated_database("relief")
    async with (
        running_simulator(create_payment_sim, settle_delay_ms=20, error_rate=1.0, seed=3) as sim_url,
        served_relief(db_url, nats_url, sim_url, registry_url, query_after_seconds=600) as (_base, client),
        httpx.AsyncClient(base_url=sim_url) as sim,
    ):
        await _open_fund(client, people["fm"], 10_000_000)
        cycle_id = await publish_cycle(nats_url, lines_for(persons, 12), chunk_size=12)
        batch = await _batch_of(client, people["fm"], cycle_id, "reserved")
        ok = await client.post(f"/v1/batches/{batch['id']}/approve", headers=people["fm"])
        assert ok.status_code == 200, ok.text

        async def refused_twice() -> bool:
            return (await sim.get("/_sim/stats")).json()["events"].get("errors_injected", 0) >= 2

        await wait_for(refused_twice, timeout=30)
        assert (await sim.put("/_sim/config", json={"error_rate": 0.0})).status_code == 200
        done = await _batch_of(client, people["fm"], cycle_id, "done")
        assert done["payments_by_status"] == {"succeeded": 10, "held": 2}, done
        assert (await sim.get("/_sim/payments")).json()["total"] == 10  # each paid once
