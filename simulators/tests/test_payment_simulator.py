"""The payment simulator: idempotent batch submit, signed callbacks, injected faults, determinism."""

import asyncio
import hashlib
import hmac
import json

import httpx
import pytest

from simulators.payments.app import create_app
from simulators.testing import Receiver, recording_receiver, running_simulator

MERCHANT = {"X-Merchant-Id": "guanhuai-relief"}
SECRET = "sim-test-secret"


def batch(prefix: str, count: int, amount_fen: int = 100) -> dict:
    return {
        "instructions": [
            {
                "end_to_end_id": f"{prefix}-{n}",
                "amount_fen": amount_fen,
                "payee_name": "张三",
                "bank_card": "6222020200112233445",
                "memo": "奖励扶助",
            }
            for n in range(count)
        ]
    }


async def settle(client: httpx.AsyncClient, within_s: float = 30) -> dict:
    for _ in range(int(within_s / 0.05)):
        stats = (await client.get("/_sim/stats")).json()
        if stats["pending_events"] == 0 and stats["callbacks_idle"]:
            return stats
        await asyncio.sleep(0.05)
    raise AssertionError("not settled")


def callbacks(receiver: Receiver) -> list[dict]:
    out = []
    for request in receiver.requests:
        expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["x-sim-signature"] == expected
        assert request.headers["x-sim-timestamp"].isdigit()
        body = json.loads(request.body)
        out.extend(body if isinstance(body, list) else [body])
    return out


async def run(count: int, **config: object) -> tuple[dict, list[dict]]:
    async with (
        recording_receiver() as merchant,
        running_simulator(
            create_app, callback_url=merchant.url + "/cb", callback_secret=SECRET, settle_delay_ms=5, **config
        ) as url,
        httpx.AsyncClient(base_url=url, headers=MERCHANT) as client,
    ):
        assert (await client.post("/v1/payments", json=batch("P", count))).status_code == 200
        stats = await settle(client)
        return stats, callbacks(merchant)


async def test_every_payment_is_called_back_once_by_default() -> None:
    stats, seen = await run(30)
    assert sorted(c["end_to_end_id"] for c in seen) == sorted(f"P-{n}" for n in range(30))
    assert {c["state"] for c in seen} == {"succeeded"} and stats["by_state"] == {"succeeded": 30}
    assert set(seen[0]) == {"end_to_end_id", "state", "provider_ref", "reason", "occurred_at"}


async def test_the_same_seed_gives_the_same_fates_and_another_seed_does_not() -> None:
    faults = {"failure_rate": 0.3, "return_rate": 0.2}
    first = {c["end_to_end_id"]: c["state"] for c in (await run(60, seed=5, **faults))[1]}
    again = {c["end_to_end_id"]: c["state"] for c in (await run(60, seed=5, **faults))[1]}
    other = {c["end_to_end_id"]: c["state"] for c in (await run(60, seed=6, **faults))[1]}
    assert first == again and first != other
    assert {"failed", "returned"} <= set(first.values())


async def test_duplicate_and_out_of_order_callbacks() -> None:
    _, seen = await run(
        40,
        duplicate_rate=1.0,
        out_of_order_rate=1.0,
        return_rate=0.5,
        seed=1,
        callback_concurrency=1,
        return_delay_ms=100,
    )
    by_payment: dict[str, list[str]] = {}
    for c in seen:
        by_payment.setdefault(c["end_to_end_id"], []).append(c["state"])
    returned = [states for states in by_payment.values() if "returned" in states]
    plain = [states for states in by_payment.values() if "returned" not in states]
    assert returned and plain
    for states in returned:  # the return overtakes the success, and comes again after it
        assert states == ["returned", "succeeded", "returned"]
    for states in plain:  # a stale 'accepted' after the final state, then the final state again
        assert states == ["succeeded", "accepted", "succeeded"]


async def test_batch_callbacks_are_json_arrays() -> None:
    _, seen = await run(2500, batch_callbacks=True, callback_batch_max=1000)
    assert len(seen) == 2500 and len({c["end_to_end_id"] for c in seen}) == 2500


async def test_batch_limits_validation_and_unknown_merchants() -> None:
    async with running_simulator(create_app) as url, httpx.AsyncClient(base_url=url, headers=MERCHANT) as client:
        too_many = await client.post("/v1/payments", json=batch("X", 5001))
        assert too_many.status_code == 422 and too_many.headers["content-type"] == "application/problem+json"
        bad = batch("Y", 2)
        bad["instructions"][1]["end_to_end_id"] = "has space"
        assert (await client.post("/v1/payments", json=bad)).status_code == 422
        stranger = await client.post("/v1/payments", json=batch("Z", 1), headers={"X-Merchant-Id": "nobody"})
        assert stranger.status_code == 401
        assert (await client.get("/_sim/stats")).json()["payments"] == 0
        assert (await client.put("/_sim/config", json={"failure_rat": 0.1})).status_code == 422
        assert (await client.put("/_sim/config", json={"failure_rate": 2})).status_code == 422


async def test_merchants_config_reset_and_inspection() -> None:
    async with (
        recording_receiver() as other,
        running_simulator(create_app) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        put = await client.put(
            "/_sim/merchants/county-2",
            json={"callback_url": other.url + "/x", "secret": SECRET, "batch_callbacks": False},
        )
        assert put.status_code == 200
        await client.put("/_sim/config", json={"settle_delay_ms": 0, "failure_rate": 1.0})
        sent = await client.post("/v1/payments", json=batch("M", 2), headers={"X-Merchant-Id": "county-2"})
        assert sent.status_code == 200
        await other.wait_for(2)
        failed = (await client.get("/_sim/payments", params={"state": "failed"})).json()
        assert failed["total"] == 2 and failed["payments"][0]["merchant_id"] == "county-2"
        assert all(p["reason"] for p in failed["payments"])
        assert (await client.post("/_sim/reset")).json() == {"reset": True}
        assert (await client.get("/_sim/stats")).json()["payments"] == 0


@pytest.mark.slow
async def test_one_hundred_thousand_payments_settle_in_seconds() -> None:
    async with (
        recording_receiver() as merchant,
        running_simulator(
            create_app,
            callback_url=merchant.url + "/cb",
            callback_secret=SECRET,
            batch_callbacks=True,
            settle_delay_ms=10,
            failure_rate=0.05,
        ) as url,
        httpx.AsyncClient(base_url=url, headers=MERCHANT, timeout=30) as client,
    ):
        started = asyncio.get_running_loop().time()
        for chunk in range(20):
            assert (await client.post("/v1/payments", json=batch(f"L{chunk}", 5000))).status_code == 200
        stats = await settle(client, within_s=60)
        elapsed = asyncio.get_running_loop().time() - started
        assert stats["payments"] == 100_000 and stats["events"]["callbacks_delivered"] == 100_000
        assert elapsed < 30, f"{elapsed:.1f}s"  # ≈ 5 s on an idle 2-core machine, client and merchant included
