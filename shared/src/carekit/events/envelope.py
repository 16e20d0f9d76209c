"""The CloudEvents 1.0 envelope (structured JSON mode) every Guanhuai event travels in."""

import json
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
        """Parse a structured-mode CloudEvent 1.0; anything else is a poison message."""
        try:
            attrs = json.loads(raw)
        except ValueError as exc:
            raise InvalidEvent(f"not JSON: {exc}") from exc
        if not isinstance(attrs, dict):
            raise InvalidEvent("a CloudEvent must be a JSON object")
        if attrs.get("specversion") != "1.0":
            raise InvalidEvent(f"unsupported specversion {attrs.get('specversion')!r}")
        missing = [name for name in ("id", "type", "source") if not attrs.get(name)]
        if missing:
            raise InvalidEvent(f"missing required attributes: {missing}")
        data = attrs.get("data") or {}
        if not isinstance(data, dict):
            raise InvalidEvent("event data must be a JSON object")
        try:
            event_id = uuid.UUID(str(attrs["id"]))
            time = datetime.fromisoformat(attrs["time"]) if attrs.get("time") else datetime.now(UTC)
        except ValueError as exc:
            raise InvalidEvent(f"bad id or time: {exc}") from exc
        return cls(id=event_id, type=str(attrs["type"]), source=str(attrs["source"]), subject=attrs.get("subject"),
                   time=time, traceparent=attrs.get("traceparent"), data=data)


def new_event(
    type: str, data: dict[str, Any], *, source: str, subject: str | None = None
) -> EventEnvelope:
    """A new event stamped with a fresh id, the current time and the current trace context."""
    return EventEnvelope(type=type, source=source, subject=subject, data=data, traceparent=current_traceparent())
