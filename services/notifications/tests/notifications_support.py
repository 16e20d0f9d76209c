"""Running notifications (and, where needed, the real registry) on real PostgreSQL and NATS."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from carekit.events.envelope import EventEnvelope, new_event
from carekit.events.streams import ensure_stream, service_stream
from carekit.testing.service import running
from notifications.main import create_app
from notifications.service.clock import Clock
from notifications.settings import NotificationsSettings

COUNTY = "360702"
VILLAGE = "360702001001"
FAST = {
    "outbox_poll_seconds": 0.1,
    "sender_poll_seconds": 0.05,
    "webhook_poll_seconds": 0.05,
    "consumer_backoff_seconds": 0.1,
    "webhook_allowed_networks": ["127.0.0.1/32"],
    "webhook_schedule_scale": 0.001,
    "decision_hold_seconds": 0,  # a decision's notice is due at once (folding is tested on its own)
}


def settings(db_url: str, nats_url: str, **overrides) -> NotificationsSettings:  # noqa: ANN003
    return NotificationsSettings(database_url=db_url, nats_url=nats_url, environment="test", **(FAST | overrides))


@asynccontextmanager
async def notifications(db_url: str, nats_url: str, clock: Clock | None = None, **overrides) -> AsyncIterator:  # noqa: ANN003
    app = create_app(settings(db_url, nats_url, **overrides), **({"clock": clock} if clock else {}))
    async with running(app) as client:
        client.app = app
        yield client


def china_clock(hour: int) -> Clock:
    """A clock running at real speed but standing at the next `hour`:00 in China (never in the past)."""
    now = datetime.now(UTC)
    target = (now + timedelta(hours=8)).replace(hour=hour, minute=0, second=0, microsecond=0) - timedelta(hours=8)
    if target < now:
        target += timedelta(days=1)
    offset = target - now
    return lambda: datetime.now(UTC) + offset


async def publish(nats_url: str, event: EventEnvelope) -> None:
    """Publish an event on its producer's stream, as that producer's outbox relay would."""
    import nats

    producer = event.type.split(".")[0]
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, service_stream(producer))
        await js.publish(event.type, event.to_json(), headers={"Nats-Msg-Id": str(event.id)})
    finally:
        await nc.close()


def relief_event(kind: str, data: dict) -> EventEnvelope:
    return new_event(
        kind, data, source="/guanhuai/relief", subject=str(data.get("payment_id") or data.get("application_id"))
    )


def payment_event(kind: str = "relief.payment.failed", region: str | None = VILLAGE) -> EventEnvelope:
    """A relief payment event as relief's outbox writes it; `region=None` leaves the region code out."""
    data = {
        "payment_id": str(uuid.uuid4()),
        "end_to_end_id": "E2E-1",
        "batch_id": None,
        "line_id": None,
        "policy_code": "rural-reward-assistance",
        "period": "2026",
        "payee_person_id": str(uuid.uuid4()),
        "household_id": str(uuid.uuid4()),
        "amount_fen": 96000,
        "reason": {"zh": "账户已注销", "en": "account closed"},
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    return relief_event(kind, data | ({"region_code": region} if region else {}))
