"""Acceptance: a poison event lands in the dead-letter stream after N tries and can be replayed."""

import nats
import pytest
from kitapp.app import ROOT, make_app, notes_subscription
from kitapp.eventing import FlakyHandler, scalar, wait_for, write_note_with_event

from carekit.testing.service import running

pytestmark = pytest.mark.slow
SETTINGS = {"consumer_backoff_seconds": 0.05, "consumer_max_deliveries": 3, "outbox_poll_seconds": 0.2}


async def dead_letter_count(client, headers) -> int:  # noqa: ANN001
    return len((await client.get("/v1/ops/dead-letters", headers=headers)).json()["items"])


async def test_poison_event_dead_lettered_then_replayed(migrated_database, nats_url, tokens) -> None:
    a_url, b_url = await migrated_database("a5", ROOT), await migrated_database("b5", ROOT)
    handler = FlakyHandler(failures=10**6)  # fails until we "fix" it
    producer = make_app("a5", a_url, nats_url, **SETTINGS)
    consumer = make_app("b5", b_url, nats_url, [notes_subscription("a5", handler)], **SETTINGS)
    ops = tokens.headers(roles=["ops"], sub="ops-1")
    async with running(producer), running(consumer) as client:
        event = await write_note_with_event(a_url, "a5")

        async def one_dead_letter() -> bool:
            return await dead_letter_count(client, ops) == 1

        await wait_for(one_dead_letter, what="dead letter")
        assert handler.calls == 3
        listed = (await client.get("/v1/ops/dead-letters", headers=ops)).json()["items"][0]
        assert listed["event_id"] == str(event.id)
        assert listed["deliveries"] == 3
        assert "simulated failure 3" in listed["error"]
        assert listed["consumer"] == "notes"
        assert await scalar(b_url, "SELECT count(*) FROM received") == 0

        metrics = (await client.get("/metrics")).text
        assert 'dead_letters_total{consumer="b5-notes",service="b5"} 1.0' in metrics

        still_failing = await client.post(f"/v1/ops/dead-letters/{listed['seq']}/replay", headers=ops)
        assert still_failing.status_code == 422
        assert still_failing.json()["type"] == "urn:guanhuai:problem:replay-failed"
        assert await dead_letter_count(client, ops) == 1

        handler.failures = 0  # the bug is fixed and deployed
        replayed = await client.post(f"/v1/ops/dead-letters/{listed['seq']}/replay", headers=ops)
        assert replayed.status_code == 200, replayed.text
        assert replayed.json()["handled"] is True
        assert await scalar(b_url, "SELECT count(*) FROM received") == 1
        assert await dead_letter_count(client, ops) == 0


async def test_unreadable_message_goes_straight_to_dead_letters(migrated_database, nats_url, tokens) -> None:
    a_url, b_url = await migrated_database("a6", ROOT), await migrated_database("b6", ROOT)
    producer = make_app("a6", a_url, nats_url, **SETTINGS)
    consumer = make_app("b6", b_url, nats_url, [notes_subscription("a6")], **SETTINGS)
    ops = tokens.headers(roles=["ops"])
    async with running(producer), running(consumer) as client:
        nc = await nats.connect(nats_url)
        try:
            await nc.jetstream().publish("a6.note.created", b"{not json", headers={"Nats-Msg-Id": "garbage-1"})
        finally:
            await nc.close()

        async def parked() -> bool:
            return await dead_letter_count(client, ops) == 1

        await wait_for(parked, what="garbage dead-lettered")
        letter = (await client.get("/v1/ops/dead-letters", headers=ops)).json()["items"][0]
        assert letter["deliveries"] == 1 and letter["event_id"] is None
        unreadable = await client.post(f"/v1/ops/dead-letters/{letter['seq']}/replay", headers=ops)
        assert unreadable.status_code == 422
        discarded = await client.delete(f"/v1/ops/dead-letters/{letter['seq']}", headers=ops)
        assert discarded.status_code == 204
        assert await dead_letter_count(client, ops) == 0
        # ...and the consumer keeps going: a good event after the garbage is handled.
        await write_note_with_event(a_url, "a6")
        await wait_for(lambda: _is(scalar(b_url, "SELECT count(*) FROM received"), 1), what="good event handled")


async def test_dead_letters_need_ops_role(migrated_database, nats_url, tokens) -> None:
    url = await migrated_database("b7", ROOT)
    async with running(make_app("b7", url, nats_url)) as client:
        refused = await client.get("/v1/ops/dead-letters", headers=tokens.headers(roles=["caseworker"],
                                                                                   region="360702"))
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"


async def _is(value, expected: int) -> bool:  # noqa: ANN001
    return await value == expected
