"""`PaymentEvent.to_json` writes the very bytes the kit's generic `EventEnvelope.to_json` writes."""

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from carekit.events.envelope import EventEnvelope
from relief.domain.disbursement import PaymentStatus
from relief.events.outgoing import PaymentEvent
from relief.service.payments import payment_event


def _row() -> SimpleNamespace:
    return SimpleNamespace(
        id=uuid.uuid4(),
        end_to_end_id="GH" + uuid.uuid4().hex.upper(),
        batch_id=uuid.uuid4(),
        line_id=uuid.uuid4(),
        policy_code="rural_reward",
        period="2026",
        payee_person_id=uuid.uuid4(),
        household_id=uuid.uuid4(),
        region_code="360702001001",
        amount_fen=96_000,
    )


def _as_kit(event: PaymentEvent) -> EventEnvelope:
    return EventEnvelope(
        type=event.type,
        source=event.source,
        data=event.data,
        subject=event.subject,
        id=event.id,
        time=event.time,
        traceparent=event.traceparent,
    )


@pytest.mark.parametrize(
    ("status", "reason", "at"),
    [
        (PaymentStatus.SUCCEEDED, None, datetime(2026, 11, 24, 8, 0, 0, 123456, tzinfo=UTC)),
        (
            PaymentStatus.FAILED,
            {"zh": "账户冻结", "en": "account frozen", "code": "provider"},
            datetime(2026, 11, 24, 16, 0, tzinfo=timezone(timedelta(hours=8))),
        ),
        (PaymentStatus.HELD, {"zh": "收款人已登记死亡", "en": "deceased"}, datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_same_bytes_as_the_kit_envelope(status: PaymentStatus, reason: dict | None, at: datetime) -> None:
    event = payment_event(_row(), status, reason, at)
    assert isinstance(event, PaymentEvent)
    assert event.to_json() == _as_kit(event).to_json()
    assert EventEnvelope.from_json(event.to_json()).data == event.data


def test_whole_second_times_and_trace_context_match_too() -> None:
    event = PaymentEvent(
        type="relief.payment.returned",
        source="/guanhuai/relief",
        data={"payment_id": str(uuid.uuid4()), "amount_fen": 1},
        subject="x",
        time=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    assert event.to_json() == _as_kit(event).to_json()
    assert json.loads(event.to_json())["time"] == "2026-11-24T08:00:00Z"
