"""The CloudEvents 1.0 envelope (structured JSON mode) every Guanhuai event travels in."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic_core import to_jsonable_python

from carekit.tracing import current_traceparent

CONTENT_TYPE = "application/cloudevents+json"
_FORMAT = JSONFormat()


class InvalidEvent(ValueError):
    """A message that is not a well-formed CloudEvent of ours (a poison message)."""


@dataclass(frozen=True, slots=True)
class EventEnvelope:
    type: str
    source: str
    data: dict[str, Any]
    subject: str | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    traceparent: str | None = None

    def to_json(self) -> bytes:
        attributes: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "source": self.source,
            "time": self.time,
            "datacontenttype": "application/json",
        }
        if self.subject is not None:
            attributes["subject"] = self.subject
        if self.traceparent:
            attributes["traceparent"] = self.traceparent
        return _FORMAT.write(CloudEvent(attributes=attributes, data=to_jsonable_python(self.data)))

    @classmethod
    def from_json(cls, raw: bytes | str) -> "EventEnvelope":
        try:
            event = _FORMAT.read(None, raw)
            attrs = event.get_attributes()
            data = event.get_data()
            if data is None:
                data = {}
            if not isinstance(data, dict):
                raise InvalidEvent("event data must be a JSON object")
            return cls(
                id=uuid.UUID(str(attrs["id"])),
                type=str(attrs["type"]),
                source=str(attrs["source"]),
                subject=attrs.get("subject"),
                time=attrs.get("time") or datetime.now(UTC),
                traceparent=attrs.get("traceparent"),
                data=data,
            )
        except InvalidEvent:
            raise
        except Exception as exc:  # noqa: BLE001 - anything unparseable is a poison message
            raise InvalidEvent(f"not a valid CloudEvent: {exc}") from exc


def new_event(
    type: str, data: dict[str, Any], *, source: str, subject: str | None = None
) -> EventEnvelope:
    """A new event stamped with a fresh id, the current time and the current trace context."""
    return EventEnvelope(type=type, source=source, subject=subject, data=data, traceparent=current_traceparent())
