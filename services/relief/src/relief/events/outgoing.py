"""Events the relief publishes on its stream RELIEF (contract C3). No names, ID numbers, phones or cards."""

from datetime import UTC, datetime
from typing import Any

from carekit.events.envelope import EventEnvelope, new_event

SOURCE = "/guanhuai/relief"

PAYMENT_SUCCEEDED = "relief.payment.succeeded"
PAYMENT_FAILED = "relief.payment.failed"
PAYMENT_RETURNED = "relief.payment.returned"
PAYMENT_HELD = "relief.payment.held"
APPLICATION_EVENTS = {
    "submitted": "relief.application.submitted",
    "reviewed": "relief.application.reviewed",
    "approved": "relief.application.approved",
    "refused": "relief.application.refused",
    "paid": "relief.application.paid",
}


def relief_event(kind: str, data: dict[str, Any], subject: str) -> EventEnvelope:
    return new_event(
        kind,
        {**data, "occurred_at": data.get("occurred_at") or datetime.now(UTC).isoformat()},
        source=SOURCE,
        subject=subject,
    )
