"""Competing consumers: two replicas of one consuming service (one database, one durable consumer on
the producer's stream) share the events between them, and each event is handled exactly once, also
when one replica goes away in the middle of the work."""

import asyncio
import contextlib
import uuid

import nats
import pytest
from kitapp.app import ROOT, make_app, notes_subscription, record_received
from kitapp.eventing import scalar, wait_for
from sqlalchemy import text

from carekit.db.engine import Database
from carekit.db.uow import UnitOfWork
from carekit.events.envelope import EventEnvelope, new_event
from carekit.testing.service import running

EVENTS = 120
# Small batches and a handler that takes a moment, so neither replica can swallow the whole stream.
REPLICA = {"consumer_batch_size": 5, "consumer_backoff_seconds": 0.05, "outbox_poll_seconds": 0.2}


class Replica:
    """The handler of one replica: records the note like `record_received` and which events it ran."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.event_ids: list[uuid.UUID] = []

    async def __call__(self, uow: UnitOfWork, event: EventEnvelope) -> None:
        self.event_ids.append(event.id)
        await asyncio.sleep(0.005)
        await record_received(uow, event)


async def write_notes(url: str, producer: str, count: int) -> list[EventEnvelope]:
    """`count` notes and their events, committed in one transaction of the producer."""
    db = Database(url)
    events = []
    try:
        async with UnitOfWork(db, producer) as uow:
            for _ in range(count):
                note_id = uuid.uuid4()
                await uow.session.execute(
                    text("INSERT INTO notes (id, region, body) VALUES (:id, :r, 'x')"),
                    {"id": note_id, "r": "360702001001"},
                )
                event = new_event(
                    f"{producer}.note.created",
                    {"note_id": str(note_id), "region": "360702001001"},
                    source=f"/guanhuai/{producer}",
                    subject=str(note_id),
                )
                uow.emit(event)
                events.append(event)
            await uow.commit()
    finally:
        await db.dispose()
    return events


async def handled_more_than_once(url: str) -> int:
    return await scalar(
        url, "SELECT count(*) FROM (SELECT event_id FROM received GROUP BY event_id HAVING count(*) > 1) AS twice"
    )


async def durable_names(url: str, stream: str) -> list[str]:
    nc = await nats.connect(url)
    try:
        return [c.name for c in await nc.jetstream().consumers_info(stream)]
    finally:
        await nc.close()


async def drained(url: str, stream: str, durable: str) -> bool:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info(stream, durable)
        return info.num_pending == 0 and info.num_ack_pending == 0
    finally:
        await nc.close()


async def test_two_replicas_share_one_durable_and_handle_each_event_once(migrated_database, nats_url) -> None:
    a_url, b_url = await migrated_database("cc1", ROOT), await migrated_database("cd1", ROOT)
    first, second = Replica("first"), Replica("second")
    producer = make_app("cc1", a_url, nats_url, outbox_poll_seconds=0.2)
    replica_1 = make_app("cd1", b_url, nats_url, [notes_subscription("cc1", first)], **REPLICA)
    replica_2 = make_app("cd1", b_url, nats_url, [notes_subscription("cc1", second)], **REPLICA)
    async with running(producer), running(replica_1), running(replica_2):
        events = await write_notes(a_url, "cc1", EVENTS)

        async def all_received() -> bool:
            return await scalar(b_url, "SELECT count(*) FROM received") >= EVENTS

        await wait_for(all_received, timeout=60, what=f"{EVENTS} events handled")
        await wait_for(lambda: drained(nats_url, "CC1", "cd1-notes"), what="durable drained")
        await asyncio.sleep(0.5)  # a late duplicate would show up here

    assert await durable_names(nats_url, "CC1") == ["cd1-notes"]
    assert await scalar(b_url, "SELECT count(*) FROM received") == EVENTS
    assert await handled_more_than_once(b_url) == 0
    assert await scalar(b_url, "SELECT count(*) FROM inbox WHERE consumer = 'cd1-notes'") == EVENTS
    # The work was shared, and no event ran in both replicas.
    assert first.event_ids and second.event_ids, (len(first.event_ids), len(second.event_ids))
    assert not set(first.event_ids) & set(second.event_ids)
    assert set(first.event_ids) | set(second.event_ids) == {e.id for e in events}


@pytest.mark.slow
async def test_a_replica_stopping_midway_leaves_the_rest_to_the_other(migrated_database, nats_url) -> None:
    a_url, b_url = await migrated_database("cc2", ROOT), await migrated_database("cd2", ROOT)
    first, second = Replica("first"), Replica("second")
    settings = REPLICA | {"consumer_ack_wait_seconds": 2.0}  # what the stopped replica held comes back soon
    producer = make_app("cc2", a_url, nats_url, outbox_poll_seconds=0.2)
    replica_1 = make_app("cd2", b_url, nats_url, [notes_subscription("cc2", first)], **settings)
    replica_2 = make_app("cd2", b_url, nats_url, [notes_subscription("cc2", second)], **settings)
    async with running(producer), running(replica_2):
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(running(replica_1))
            await write_notes(a_url, "cc2", EVENTS)

            async def some_handled_by_first() -> bool:
                return len(first.event_ids) >= 10

            await wait_for(some_handled_by_first, timeout=30, what="the first replica at work")
        stopped_at = len(first.event_ids)  # replica 1 is gone: cancelled in the middle of its batches

        async def all_received() -> bool:
            return await scalar(b_url, "SELECT count(*) FROM received") >= EVENTS

        await wait_for(all_received, timeout=60, what="the rest handled by the second replica")
        await wait_for(lambda: drained(nats_url, "CC2", "cd2-notes"), what="durable drained")
        await asyncio.sleep(0.5)

    assert len(first.event_ids) == stopped_at and stopped_at < EVENTS
    assert await scalar(b_url, "SELECT count(*) FROM received") == EVENTS
    assert await handled_more_than_once(b_url) == 0
    assert await scalar(b_url, "SELECT count(DISTINCT event_id) FROM inbox WHERE consumer = 'cd2-notes'") == EVENTS
