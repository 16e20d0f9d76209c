"""Reading and replaying a service's dead-letter stream (`DLQ_<SERVICE>`)."""

from dataclasses import dataclass
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from carekit.events import consumer as c
from carekit.events.envelope import EventEnvelope, InvalidEvent


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    consumer: str
    original_subject: str
    original_stream: str
    original_seq: int
    error: str
    deliveries: int
    failed_at: datetime | None
    event_id: str | None
    event_type: str | None


def _to_dead_letter(raw: RawStreamMsg) -> DeadLetter:
    headers = raw.headers or {}
    try:
        event = EventEnvelope.from_json(raw.data or b"")
        event_id, event_type = str(event.id), event.type
    except InvalidEvent:
        event_id = event_type = None
    failed_at = headers.get(c.HDR_FAILED_AT)
    return DeadLetter(
        seq=raw.seq or 0,
        consumer=headers.get(c.HDR_CONSUMER, ""),
        original_subject=headers.get(c.HDR_SUBJECT, ""),
        original_stream=headers.get(c.HDR_STREAM, ""),
        original_seq=int(headers.get(c.HDR_SEQ, "0") or 0),
        error=headers.get(c.HDR_ERROR, ""),
        deliveries=int(headers.get(c.HDR_DELIVERIES, "0") or 0),
        failed_at=datetime.fromisoformat(failed_at) if failed_at else None,
        event_id=event_id,
        event_type=event_type,
    )


class DeadLetterStore:
    def __init__(self, js: JetStreamContext, service_name: str) -> None:
        self.js = js
        self.stream = f"DLQ_{service_name.upper()}"
        self.subjects = f"dlq.{service_name}.>"

    async def count(self) -> int:
        try:
            info = await self.js.stream_info(self.stream)
        except NotFoundError:
            return 0
        return info.state.messages

    async def list(self, *, after_seq: int = 0, limit: int = 50) -> list[DeadLetter]:
        letters: list[DeadLetter] = []
        seq = after_seq + 1
        while len(letters) < limit:
            try:
                raw = await self.js.get_msg(self.stream, seq=seq, subject=self.subjects, next=True)
            except NotFoundError:
                break
            letters.append(_to_dead_letter(raw))
            seq = (raw.seq or seq) + 1
        return letters

    async def get(self, seq: int) -> tuple[DeadLetter, bytes] | None:
        try:
            raw = await self.js.get_msg(self.stream, seq=seq)
        except NotFoundError:
            return None
        return _to_dead_letter(raw), raw.data or b""

    async def delete(self, seq: int) -> None:
        await self.js.delete_msg(self.stream, seq)
