"""Batch handlers: every new event of a type in a fetched batch is handled by one call, exactly once."""

import nats
from kitapp.app import ROOT, make_app, record_received_batch
from kitapp.eventing import scalar, wait_for, write_note_with_event

from carekit.events.consumer import Subscription
from carekit.events.streams import ensure_stream, service_stream
from carekit.testing.service import running


async def test_batch_handler_sees_many_events_per_call_and_each_once(migrated_database, nats_url) -> None:
    a_url, b_url = await migrated_database("a9", ROOT), await migrated_database("b9", ROOT)
    calls: list[int] = []

    async def counting(uow, events) -> None:  # noqa: ANN001
        calls.append(len(events))
        await record_received_batch(uow, events)

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, service_stream("a9"))
    events = [await write_note_with_event(a_url, "a9") for _ in range(30)]
    for event in events:  # publish directly, twice each: duplicates must be dropped by the inbox
        await js.publish(event.type, event.to_json(), headers={"Nats-Msg-Id": str(event.id)})
        await js.publish(event.type, event.to_json(), headers={"Nats-Msg-Id": f"{event.id}-again"})
    await nc.close()
    subscription = Subscription(name="notes", stream="A9", batch_handlers={"a9.note.created": counting})
    async with running(make_app("b9", b_url, nats_url, [subscription])):

        async def all_received() -> bool:
            return await scalar(b_url, "SELECT count(*) FROM received") == 30

        await wait_for(all_received, what="30 notes received")
    assert sum(calls) == 30 and max(calls) > 1
    assert await scalar(b_url, "SELECT count(DISTINCT event_id) FROM received") == 30


async def test_ordered_batch_handler_sees_every_new_event_in_delivery_order(migrated_database, nats_url) -> None:
    a_url, b_url = await migrated_database("a10", ROOT), await migrated_database("b10", ROOT)
    seen: list[list[str]] = []

    async def ordered(uow, events) -> None:  # noqa: ANN001
        seen.append([str(e.id) for e in events])
        await record_received_batch(uow, events)

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, service_stream("a10"))
    events = [await write_note_with_event(a_url, "a10") for _ in range(20)]
    for event in events:  # published in order, each twice: the duplicates must never reach the handler
        await js.publish(event.type, event.to_json(), headers={"Nats-Msg-Id": str(event.id)})
        await js.publish(event.type, event.to_json(), headers={"Nats-Msg-Id": f"{event.id}-again"})
    await nc.close()
    subscription = Subscription(name="notes", stream="A10", subjects=["a10.note.created"],
                                ordered_batch_handler=ordered)
    async with running(make_app("b10", b_url, nats_url, [subscription])):

        async def all_received() -> bool:
            return await scalar(b_url, "SELECT count(*) FROM received") == 20

        await wait_for(all_received, what="20 notes received")
    flat = [event_id for call in seen for event_id in call]
    assert flat == [str(e.id) for e in events]  # each once, in the order they were published
    assert max(len(call) for call in seen) > 1
