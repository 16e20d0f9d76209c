"""HttpPaymentProvider against the payment simulator over real HTTP."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import httpx
import pytest

from relief.adapters.payments import PaymentInstruction, ProviderRejected, ProviderTimeout
from relief.adapters.payments.bank_file import export_batch_file, parse_result_file
from relief.adapters.payments.http_provider import HttpPaymentProvider
from simulators.common import CHINA
from simulators.payments.app import create_app
from simulators.testing import Receiver, recording_receiver, running_simulator

SECRET = "relief-test-secret"


def instructions(prefix: str, count: int, amount_fen: int = 96000) -> list[PaymentInstruction]:
    return [
        PaymentInstruction(f"{prefix}-{n:06d}", amount_fen, "张三", "6222020200112233445", "奖励扶助 2026")
        for n in range(1, count + 1)
    ]


@asynccontextmanager
async def payment_simulator(**config: object) -> AsyncIterator[tuple[str, Receiver]]:
    """The simulator calling back a recording receiver that stands in for relief's callback route."""
    async with (
        recording_receiver() as relief,
        running_simulator(create_app, callback_url=relief.url + "/cb", callback_secret=SECRET, **config) as url,
    ):
        yield url, relief


async def sim_get(url: str, path: str) -> dict:
    async with httpx.AsyncClient(base_url=url) as client:
        return (await client.get(path)).json()


async def sim_put(url: str, path: str, body: dict) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        (await client.put(path, json=body)).raise_for_status()


async def settled(url: str, within_s: float = 10) -> dict:
    deadline = asyncio.get_running_loop().time() + within_s
    while asyncio.get_running_loop().time() < deadline:
        stats = await sim_get(url, "/_sim/stats")
        if stats["pending_events"] == 0 and stats["callbacks_idle"]:
            return stats
        await asyncio.sleep(0.05)
    raise AssertionError("simulator did not settle")


async def test_submit_settle_and_signed_callbacks() -> None:
    async with (
        payment_simulator(settle_delay_ms=20, failure_rate=0.3, seed=7) as (url, relief),
        httpx.AsyncClient() as client,
    ):
        provider = HttpPaymentProvider(url, "guanhuai-relief", SECRET, timeout_s=5, client=client)
        submitted = await provider.submit(instructions("S1", 40))
        assert [s.state for s in submitted] == ["accepted"] * 40
        assert len({s.provider_ref for s in submitted}) == 40
        await relief.wait_for(40)
        await settled(url)
        callbacks = [provider.parse_callback(r.headers, r.body) for r in relief.requests]
        finals = {c.end_to_end_id: c.state for c in callbacks}
        assert len(callbacks) == 40 and set(finals) == {s.end_to_end_id for s in submitted}
        assert 0 < list(finals.values()).count("failed") < 40
        assert all(c.reason for c in callbacks if c.state == "failed")
        queried = {s.end_to_end_id: s.state for s in await provider.query(list(finals))}
        assert queried == finals

        tampered = relief.requests[0].body.replace(b"S1-", b"S9-")
        with pytest.raises(ValueError):
            provider.parse_callback(relief.requests[0].headers, tampered)


async def test_a_resubmitted_end_to_end_id_is_never_paid_twice() -> None:
    async with payment_simulator(settle_delay_ms=0) as (url, _), httpx.AsyncClient() as client:
        provider = HttpPaymentProvider(url, "guanhuai-relief", SECRET, client=client)
        first = await provider.submit(instructions("R1", 3))
        await settled(url)
        again = await provider.submit(instructions("R1", 5))
        assert [s.provider_ref for s in again[:3]] == [s.provider_ref for s in first]
        assert [s.state for s in again] == ["succeeded"] * 3 + ["accepted"] * 2
        stats = await settled(url)
        assert stats["payments"] == 5 and stats["events"]["resubmitted"] == 3
        assert stats["amount_fen_succeeded"] == 5 * 96000


async def test_a_timeout_is_reported_then_the_query_tells_what_happened() -> None:
    async with (
        payment_simulator(timeout_rate=1.0, hang_s=5, settle_delay_ms=0) as (url, _),
        httpx.AsyncClient() as client,
    ):
        provider = HttpPaymentProvider(url, "guanhuai-relief", SECRET, timeout_s=0.3, client=client)
        batch = instructions("T1", 10)
        with pytest.raises(ProviderTimeout):
            await provider.submit(batch)
        await settled(url)
        assert {s.state for s in await provider.query([i.end_to_end_id for i in batch])} == {"succeeded"}
        await sim_put(url, "/_sim/config", {"timeout_rate": 0})
        again = await provider.submit(batch)  # safe: nothing is paid twice
        assert {s.state for s in again} == {"succeeded"}
        assert (await sim_get(url, "/_sim/stats"))["payments"] == 10


async def test_unknown_ids_query_as_unknown_and_bad_input_is_rejected_whole() -> None:
    async with payment_simulator() as (url, _), httpx.AsyncClient() as client:
        provider = HttpPaymentProvider(url, "guanhuai-relief", SECRET, client=client)
        assert [s.state for s in await provider.query(["NOPE-1"])] == ["unknown"]
        bad = [*instructions("V1", 2), PaymentInstruction("V1-000003", 100, "王五", "62220202-bad", "")]
        with pytest.raises(ProviderRejected) as rejected:
            await provider.submit(bad)
        assert "422" in rejected.value.reason
        with pytest.raises(ProviderRejected):
            await provider.submit([PaymentInstruction("V1-000004", -5, "王五", "6222020200112233445", "")])
        assert (await sim_get(url, "/_sim/stats"))["payments"] == 0
        stranger = HttpPaymentProvider(url, "someone-else", SECRET, client=client)
        with pytest.raises(ProviderRejected):
            await stranger.query(["V1-000001"])


async def test_a_provider_error_is_a_timeout_too_and_nothing_was_booked() -> None:
    async with payment_simulator(error_rate=1.0) as (url, _), httpx.AsyncClient() as client:
        provider = HttpPaymentProvider(url, "guanhuai-relief", SECRET, client=client)
        with pytest.raises(ProviderTimeout, match="503"):
            await provider.submit(instructions("E1", 2))
        assert [s.state for s in await provider.query(["E1-000001"])] == ["unknown"]


async def test_an_unreachable_provider_is_a_timeout_not_a_rejection() -> None:
    async with payment_simulator() as (url, _):
        pass  # the port is free again
    provider = HttpPaymentProvider(url, "guanhuai-relief", SECRET, timeout_s=1)
    with pytest.raises(ProviderTimeout):
        await provider.submit(instructions("U1", 1))
    await provider.aclose()


async def test_the_daily_statement_lists_payouts_and_returns() -> None:
    async with (
        payment_simulator(settle_delay_ms=0, return_rate=1.0, return_delay_ms=50) as (url, _),
        httpx.AsyncClient() as client,
    ):
        provider = HttpPaymentProvider(url, "guanhuai-relief", SECRET, client=client)
        await provider.submit(instructions("D1", 3, amount_fen=5000))
        await settled(url)
        today = datetime.now(CHINA).date()
        lines = await provider.statement(today)
        assert sorted((line.end_to_end_id, line.state) for line in lines) == sorted(
            [(f"D1-{n:06d}", state) for n in (1, 2, 3) for state in ("succeeded", "returned")]
        )
        assert {line.amount_fen for line in lines} == {5000} and {line.value_date for line in lines} == {today}
        assert {s.state for s in await provider.query(["D1-000001"])} == {"returned"}
        assert await provider.statement(today.replace(year=2020)) == []


async def test_the_bank_file_channel_round_trip() -> None:
    async with (
        payment_simulator(settle_delay_ms=10, failure_rate=0.5, seed=3) as (url, _),
        httpx.AsyncClient(base_url=url, headers={"X-Merchant-Id": "guanhuai-relief"}) as client,
    ):
        batch = instructions("F1", 20, amount_fen=1234)
        sent = await client.post("/v1/batch-files", content=export_batch_file("F1", batch))
        assert sent.status_code == 202, sent.text
        await settled(url)
        result = await client.get("/v1/batch-files/F1/result")
        assert result.status_code == 200, result.text
        statuses = parse_result_file(result.content)
        assert [s.end_to_end_id for s in statuses] == [i.end_to_end_id for i in batch]
        assert {s.state for s in statuses} == {"succeeded", "failed"}
        provider = HttpPaymentProvider(url, "guanhuai-relief", SECRET, client=client)
        queried = await provider.query([s.end_to_end_id for s in statuses])
        assert [q.state for q in queried] == [s.state for s in statuses]
