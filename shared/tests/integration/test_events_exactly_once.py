"""Acceptance: a state change + event committed in service A is handled exactly once in service B
whatever goes wrong in between (NATS down, relay crash, handler failures, duplicate publishing)."""

import asyncio

import nats
import pytest
from kitapp.eventing import FlakyHandler, scalar, wait_for, write_note_with_event
from kitapp.app import ROOT, make_app, notes_subscription

from carekit.db.uow import outbox_channel
from carekit.events.relay import OutboxRelay
from carekit.events.streams import ensure_stream, service_stream
from carekit.testing.service import running

pytestmark = pytest.mark.slow
FAST = {"consumer_backoff_seconds": 0.05, "outbox_poll_seconds": 0.2}


async def received(url: str) -> int:
    return await scalar(url, "SELECT count(*) FROM received")


async def test_nats_down_during_write_then_back(migrated_database, private_nats) -> None:
    a_url, b_url = await migrated_database("a1", ROOT), await migrated_database("b1", ROOT)
    producer = make_app("a1", a_url, private_nats.url, **FAST)
    consumer = make_app("b1", b_url, private_nats.url, [notes_subscription("a1")], **FAST)
    async with running(producer), running(consumer):
        await wait_for(lambda: _has_consumer(private_nats.url, "A1", "b1-notes"), what="durable consumer")
        private_nats.stop()
        event = await write_note_with_event(a_url, "a1")
        await asyncio.sleep(1.0)  # the relay tries, fails, and keeps the row
        assert await scalar(a_url, "SELECT count(*) FROM outbox") == 1
        private_nats.start()
        await wait_for(lambda: _equals(received(b_url), 1), timeout=30, what="event handled in B")
        await wait_for(lambda: _equals(scalar(a_url, "SELECT count(*) FROM outbox"), 0), what="outbox drained")
        await asyncio.sleep(1.0)
        assert await received(b_url) == 1
        assert await scalar(b_url, f"SELECT count(*) FROM inbox WHERE event_id = '{event.id}'") == 1


async def test_relay_killed_after_publish_before_delete(migrated_database, nats_url) -> None:
    a_url, b_url = await migrated_database("a2", ROOT), await migrated_database("b2", ROOT)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, service_stream("a2"))

    async def crash(_claimed) -> None:  # noqa: ANN001
        raise asyncio.CancelledError  # the process dies between PubAck and DELETE

    def relay(**kw) -> OutboxRelay:  # noqa: ANN003
        return OutboxRelay(dsn=a_url.replace("+asyncpg", ""), js=js, service_name="a2",
                           channel=outbox_channel("a2"), lease_seconds=1.0, poll_seconds=0.2, **kw)

    consumer = make_app("b2", b_url, nats_url, [notes_subscription("a2")], **FAST)
    try:
        async with running(consumer):
            await write_note_with_event(a_url, "a2")
            with pytest.raises(asyncio.CancelledError):
                await relay(after_publish=crash).run()
            assert await scalar(a_url, "SELECT count(*) FROM outbox") == 1  # published, not marked
            survivor = asyncio.create_task(relay().run())
            await wait_for(lambda: _equals(scalar(a_url, "SELECT count(*) FROM outbox"), 0), what="re-relayed")
            await wait_for(lambda: _equals(received(b_url), 1), what="handled")
            await asyncio.sleep(1.0)
            survivor.cancel()
            assert await received(b_url) == 1
            assert (await js.stream_info("A2")).state.messages == 1  # JetStream dropped the re-publish
    finally:
        await nc.close()


async def test_consumer_fails_twice_then_succeeds(migrated_database, nats_url) -> None:
    a_url, b_url = await migrated_database("a3", ROOT), await migrated_database("b3", ROOT)
    handler = FlakyHandler(failures=2)
    producer = make_app("a3", a_url, nats_url, **FAST)
    consumer = make_app("b3", b_url, nats_url, [notes_subscription("a3", handler)], **FAST)
    async with running(producer), running(consumer):
        await write_note_with_event(a_url, "a3")
        await wait_for(lambda: _equals(received(b_url), 1), what="handled after two failures")
        await asyncio.sleep(0.5)
        assert handler.calls == 3
        assert await received(b_url) == 1
        assert await scalar(b_url, "SELECT count(*) FROM inbox") == 1


async def test_same_event_published_twice_is_handled_once(migrated_database, nats_url) -> None:
    a_url, b_url = await migrated_database("a4", ROOT), await migrated_database("b4", ROOT)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, service_stream("a4"))
    event = await write_note_with_event(a_url, "a4")
    consumer = make_app("b4", b_url, nats_url, [notes_subscription("a4")], **FAST)
    try:
        async with running(consumer):
            # Two copies with different message ids, so JetStream keeps both (as after its window).
            for copy in ("first", "second"):
                await js.publish(event.type, event.to_json(), headers={"Nats-Msg-Id": f"{event.id}-{copy}"})
            await wait_for(lambda: _equals(received(b_url), 1), what="handled")
            await wait_for(lambda: _consumer_drained(js, "A4", "b4-notes"), what="both copies acked")
            assert await received(b_url) == 1
            assert (await js.stream_info("A4")).state.messages == 2
    finally:
        await nc.close()


async def _has_consumer(url: str, stream: str, durable: str) -> bool:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().consumer_info(stream, durable)
        return True
    except Exception:  # noqa: BLE001
        return False
    finally:
        await nc.close()


async def _consumer_drained(js, stream: str, durable: str) -> bool:  # noqa: ANN001
    info = await js.consumer_info(stream, durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def _equals(value, expected: int) -> bool:  # noqa: ANN001
    return await value == expected
