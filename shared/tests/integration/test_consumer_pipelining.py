"""The consumer asks for its next batch before it handles the current one, and still handles every
event once and acks it only after the commit."""

import asyncio
import contextlib

import nats
from kitapp.app import ROOT, notes_subscription, record_received
from kitapp.eventing import scalar, wait_for, write_note_with_event

from carekit.db.engine import Database
from carekit.events.consumer import InboxConsumer
from carekit.events.streams import ensure_stream, service_stream


class CountingConsumer(InboxConsumer):
    """Counts the fetches started; the handler notes how many had started when it ran."""

    fetches_started = 0

    async def _fetch(self, psub):  # noqa: ANN001, ANN202
        self.fetches_started += 1
        return await super()._fetch(psub)


async def test_next_fetch_is_in_flight_while_a_batch_is_handled(migrated_database, nats_url) -> None:
    a_url, b_url = await migrated_database("a11", ROOT), await migrated_database("b11", ROOT)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, service_stream("a11"))
    events = [await write_note_with_event(a_url, "a11") for _ in range(12)]
    for event in events:
        await js.publish(event.type, event.to_json(), headers={"Nats-Msg-Id": str(event.id)})
    seen_at_handling: list[int] = []
    consumer: CountingConsumer

    async def handler(uow, event) -> None:  # noqa: ANN001
        seen_at_handling.append(consumer.fetches_started)
        await record_received(uow, event)

    db = Database(b_url)
    consumer = CountingConsumer(
        db=db, js=js, service_name="b11", batch_size=4, subscription=notes_subscription("a11", handler=handler)
    )
    task = asyncio.create_task(consumer.run())
    try:

        async def all_received() -> bool:
            return await scalar(b_url, "SELECT count(*) FROM received") == 12

        await wait_for(all_received, what="12 notes received")

        async def all_acked() -> bool:
            info = await js.consumer_info("A11", consumer.durable)
            return info.num_ack_pending == 0 and info.num_pending == 0

        await wait_for(all_acked, what="every message acked")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await db.dispose()
        await nc.close()
    # The first batch was handled while the second fetch was already under way.
    assert seen_at_handling[0] >= 2
    assert await scalar(b_url, "SELECT count(DISTINCT event_id) FROM received") == 12
    assert await scalar(b_url, "SELECT count(*) FROM inbox") == 12
