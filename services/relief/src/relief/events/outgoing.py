"""Events the relief publishes on its stream RELIEF (contract C3). No names, ID numbers, phones or cards."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from carekit.events.envelope import EventEnvelope, new_event
from carekit.tracing import current_traceparent

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


def _rfc3339(moment: datetime) -> str:
    text = moment.isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


@dataclass(frozen=True, slots=True)
class PaymentEvent(EventEnvelope):
    """A `relief.payment.*` event. Its data holds plain JSON values only (str, int, a dict of str), so it
    is written straight to the same structured-mode CloudEvent bytes as `EventEnvelope.to_json` gives,
    without the generic validation and conversion walk: a batch writes 100,000 of them."""

    def to_json(self) -> bytes:
        document: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "source": self.source,
            "time": _rfc3339(self.time),
            "datacontenttype": "application/json",
        }
        if self.subject is not None:
            document["subject"] = self.subject
        if self.traceparent:
            document["traceparent"] = self.traceparent
        document["specversion"] = "1.0"
        document["data"] = self.data
        return json.dumps(document).encode()


def payment_event_of(kind: str, data: dict[str, Any], subject: str) -> PaymentEvent:
    return PaymentEvent(type=kind, source=SOURCE, data=data, subject=subject, traceparent=current_traceparent())
