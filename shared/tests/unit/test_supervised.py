"""A service's long-lived workers are started again when they fail, and stop when cancelled."""

import asyncio

import pytest

from carekit import runtime


async def test_a_failing_worker_is_started_again(monkeypatch):
    monkeypatch.setattr(runtime, "RESTART_DELAY_SECONDS", 0.01)
    runs: list[int] = []

    async def worker() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise ConnectionError("nats away while acking")

    await asyncio.wait_for(runtime.supervised("consumer-x", worker), 5)
    assert len(runs) == 3


async def test_a_supervised_worker_stops_when_cancelled():
    started = asyncio.Event()

    async def worker() -> None:
        started.set()
        await asyncio.sleep(3600)

    task = asyncio.create_task(runtime.supervised("relay", worker))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
