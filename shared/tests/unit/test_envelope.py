"""The CloudEvents envelope, with no I/O."""

import json
import uuid
from datetime import UTC, date, datetime

import pytest

from carekit.events.envelope import EventEnvelope, InvalidEvent, new_event


def test_round_trip_keeps_every_attribute() -> None:
    event = EventEnvelope(type="registry.person.died", source="/guanhuai/registry", subject="p-1",
                          data={"person_id": "p-1", "died_on": date(2026, 3, 1), "ref": uuid.UUID(int=7)},
                          traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    raw = json.loads(event.to_json())
    assert raw["specversion"] == "1.0"
    assert raw["datacontenttype"] == "application/json"
    assert raw["data"] == {"person_id": "p-1", "died_on": "2026-03-01", "ref": str(uuid.UUID(int=7))}
    back = EventEnvelope.from_json(event.to_json())
    assert (back.id, back.type, back.source, back.subject, back.traceparent) == (
        event.id, event.type, event.source, event.subject, event.traceparent)
    assert back.time == event.time


def test_new_event_gets_fresh_id_and_time() -> None:
    first = new_event("relief.payment.succeeded", {"payment_id": "x"}, source="/guanhuai/relief")
    second = new_event("relief.payment.succeeded", {"payment_id": "x"}, source="/guanhuai/relief")
    assert first.id != second.id
    assert (datetime.now(UTC) - first.time).total_seconds() < 5


@pytest.mark.parametrize("raw", [
    b"{not json",
    b"[]",
    b'{"specversion": "1.0", "type": "t", "source": "s"}',  # no id
    b'{"specversion": "1.0", "id": "not-a-uuid", "type": "t", "source": "s"}',
    b'{"specversion": "1.0", "id": "6f1c2e0e-8a58-4c1b-9d59-1e0a6f4b2c11", "type": "t", "source": "s", "data": [1]}',
    b'{"specversion": "0.1", "id": "6f1c2e0e-8a58-4c1b-9d59-1e0a6f4b2c11", "type": "t", "source": "s"}',
])
def test_poison_messages_are_refused(raw: bytes) -> None:
    with pytest.raises(InvalidEvent):
        EventEnvelope.from_json(raw)
