"""The cycle work queue on JetStream: county work items of a cycle spread over any number of workers,
in any number of processes.

Stream `ENTITLEMENTS_WORK` (work-queue retention: a message is removed once acknowledged), subject
`work.entitlements.cycle_item`, one durable pull consumer `entitlements-cycle-workers` that every worker
binds to. A worker fetches one item at a time, evaluates it in its own transaction
(`service.cycles.evaluate_item`, then `finish`) and acknowledges it; a failure is retried after a
delay. Items are put on the queue through the outbox when the cycle is created (`enqueue`), so a cycle
is queued if and only if it was created. Evaluation is idempotent per item (its row lock and status),
so a redelivery after a crash never doubles a line.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence

from nats.js.api import AckPolicy, ConsumerConfig

from carekit.db.uow import UnitOfWork
from carekit.events.envelope import EventEnvelope, new_event
from carekit.events.streams import StreamSpec, ensure_stream
from carekit.logging import get_logger
from carekit.runtime import ServiceRuntime
from entitlements.service.cycles import evaluate_item, finish

WORK_SUBJECT = "work.entitlements.cycle_item"
WORK_STREAM = StreamSpec(name="ENTITLEMENTS_WORK", subjects=[WORK_SUBJECT], retention="workqueue")
CONSUMER = "entitlements-cycle-workers"
SOURCE = "/guanhuai/entitlements"
log = get_logger(__name__)


def enqueue(uow: UnitOfWork, cycle_id: uuid.UUID, areas: Sequence[str]) -> None:
    """One queue message per work item, through the outbox of the cycle's own transaction."""
    for area in areas:
        uow.emit(new_event(WORK_SUBJECT, {"cycle_id": str(cycle_id), "area_code": area}, source=SOURCE,
                           subject=f"{cycle_id}/{area}"))


class CycleWorkers:
    """`workers` concurrent workers in this process, started with the app (see main.py)."""

    def __init__(self, runtime: ServiceRuntime, workers: int, name: str, ack_wait_seconds: float = 600.0) -> None:
        self.runtime, self.workers, self.name, self.ack_wait = runtime, workers, name, ack_wait_seconds

    async def run(self) -> None:
        while True:
            try:
                await self.runtime.wait_until_running(timeout=3600)
                break
            except TimeoutError:
                continue
        js = self.runtime.js
        assert js is not None  # noqa: S101 - running
        await ensure_stream(js, WORK_STREAM)
        config = ConsumerConfig(durable_name=CONSUMER, ack_policy=AckPolicy.EXPLICIT, ack_wait=self.ack_wait,
                                filter_subject=WORK_SUBJECT)
        with contextlib.suppress(Exception):  # already there: every process binds to the same durable
            await js.add_consumer(WORK_STREAM.name, config)
        await asyncio.gather(*(self._worker(f"{self.name}-{i}") for i in range(self.workers)))

    async def _worker(self, worker: str) -> None:
        js = self.runtime.js
        assert js is not None  # noqa: S101
        sub = await js.pull_subscribe_bind(CONSUMER, WORK_STREAM.name)
        while True:
            try:
                messages = await sub.fetch(1, timeout=5)
            except TimeoutError:
                continue
            for message in messages:
                try:
                    event = EventEnvelope.from_json(message.data)
                    await self.handle(uuid.UUID(event.data["cycle_id"]), str(event.data["area_code"]), worker)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - retried; the item stays pending meanwhile
                    log.warning("cycle work item failed", worker=worker, error=str(exc))
                    await message.nak(delay=2)
                else:
                    await message.ack()

    async def handle(self, cycle_id: uuid.UUID, area: str, worker: str) -> None:
        async with self.runtime.uow() as uow:
            await evaluate_item(uow.session, cycle_id, area, worker)
            await finish(uow.session, cycle_id)
            await uow.commit()
