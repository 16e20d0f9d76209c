"""Durable pull consumers with an idempotent inbox, retries with backoff and a dead-letter stream.

For each fetched batch the consumer records every event id in the `inbox` table and runs the
handlers in ONE transaction, then acks (ack_sync) only after the commit. If any handler fails the
batch is rolled back and each message is handled alone, so one bad event never holds up the rest.
A message that keeps failing is naked with exponential backoff and, at its Nth delivery, moved to
the service's dead-letter stream with the error; ops can list and replay it (see `deadletters`).
"""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError
from opentelemetry.trace import SpanKind
from sqlalchemy import text

from carekit.db.engine import Database
from carekit.db.uow import UnitOfWork
from carekit.events.envelope import EventEnvelope, InvalidEvent
from carekit.logging import bind_context, get_logger
from carekit.metrics import DEAD_LETTERS, EVENT_LATENCY, EVENTS_HANDLED, REDELIVERIES
from carekit.tracing import context_from_traceparent, current_trace_id, tracer

log = get_logger(__name__)

Handler = Callable[[UnitOfWork, EventEnvelope], Awaitable[None]]
# A batch handler takes every new event of its type in a fetched batch at once (one INSERT … SELECT
# unnest(...) instead of one statement per event); it must behave like the per-event handler.
BatchHandler = Callable[[UnitOfWork, list[EventEnvelope]], Awaitable[None]]

INBOX_INSERT = text(
    "INSERT INTO inbox (consumer, event_id, event_type) "
    "SELECT :consumer, e.id, e.type FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS varchar[])) AS e(id, type) "
    "ON CONFLICT DO NOTHING RETURNING event_id"
)

HDR_SUBJECT = "Guanhuai-Original-Subject"
HDR_STREAM = "Guanhuai-Original-Stream"
HDR_SEQ = "Guanhuai-Original-Seq"
HDR_CONSUMER = "Guanhuai-Consumer"
HDR_ERROR = "Guanhuai-Error"
HDR_DELIVERIES = "Guanhuai-Deliveries"
HDR_FAILED_AT = "Guanhuai-Failed-At"


@dataclass
class Subscription:
    """What one durable consumer reads: a producer's stream, the subjects, and a handler per type."""

    name: str
    stream: str
    handlers: dict[str, Handler] = field(default_factory=dict)
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)
    subjects: list[str] | None = None  # defaults to the handlers' event types
    # Receives every new event of a transaction at once, in delivery order, instead of the handlers
    # above: for a consumer that must act once per aggregate however many of its events arrive
    # together (entitlements re-deciding a household once for a whole import batch). Needs `subjects`.
    ordered_batch_handler: BatchHandler | None = None

    def on(self, event_type: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.handlers[event_type] = handler
            return handler

        return register

    @property
    def filter_subjects(self) -> list[str]:
        return self.subjects or sorted(set(self.handlers) | set(self.batch_handlers))


class InboxConsumer:
    def __init__(
        self,
        *,
        db: Database,
        js: JetStreamContext,
        service_name: str,
        subscription: Subscription,
        max_deliveries: int = 5,
        backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 60.0,
        ack_wait_seconds: float = 30.0,
        batch_size: int = 100,
        fetch_timeout: float = 1.0,
    ) -> None:
        self.db = db
        self.js = js
        self.service = service_name
        self.sub = subscription
        self.durable = f"{service_name}-{subscription.name}"
        self.max_deliveries = max_deliveries
        self.backoff = backoff_seconds
        self.max_backoff = max_backoff_seconds
        self.ack_wait = ack_wait_seconds
        self.batch_size = batch_size
        self.fetch_timeout = fetch_timeout
        self.dead_letter_subject = f"dlq.{service_name}.{subscription.name}"

    # -- lifecycle -------------------------------------------------------------------------
    async def ensure_consumer(self) -> None:
        config = ConsumerConfig(
            durable_name=self.durable,
            filter_subjects=self.sub.filter_subjects,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            max_deliver=-1,  # we count deliveries ourselves and dead-letter at max_deliveries
            max_ack_pending=max(1000, self.batch_size * 10),
        )
        await self.js.add_consumer(self.sub.stream, config)

    async def run(self) -> None:
        """Consume until cancelled; waits for the producer's stream to exist.

        One fetch is always in flight: the next batch is requested before the current one is
        handled, so the fetch round trip overlaps the handler transaction and the acks.
        """
        psub = await self._bind()
        fetching = asyncio.create_task(self._fetch(psub))
        try:
            while True:
                msgs = await fetching
                fetching = asyncio.create_task(self._fetch(psub))
                if msgs:
                    await self.handle_batch(msgs)
        finally:
            fetching.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await fetching

    async def _bind(self) -> JetStreamContext.PullSubscription:
        while True:
            try:
                await self.ensure_consumer()
                return await self.js.pull_subscribe_bind(durable=self.durable, stream=self.sub.stream)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the producer may not be up yet
                log.info("waiting for stream", stream=self.sub.stream, consumer=self.durable, error=str(exc))
                await asyncio.sleep(1.0)

    async def _fetch(self, psub: JetStreamContext.PullSubscription) -> list[Msg]:
        """One batch; empty when nothing came within the fetch timeout or NATS is away."""
        try:
            return await psub.fetch(self.batch_size, timeout=self.fetch_timeout)
        except TimeoutError:
            return []
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - NATS outages: keep trying
            log.warning("fetch failed", consumer=self.durable, error=str(exc))
            await asyncio.sleep(0.5)
            return []

    # -- handling --------------------------------------------------------------------------
    async def handle_batch(self, msgs: list[Msg]) -> None:
        parsed: list[tuple[Msg, EventEnvelope]] = []
        for msg in msgs:
            if msg.metadata.num_delivered > 1:
                REDELIVERIES.labels(self.service, self.durable).inc()
            try:
                parsed.append((msg, EventEnvelope.from_json(msg.data)))
            except InvalidEvent as exc:
                await self.dead_letter(msg, exc)
        if len(parsed) > 1 and await self._handle_together(parsed):
            return
        for msg, event in parsed:
            await self._handle_alone(msg, event)

    async def _handle_together(self, batch: list[tuple[Msg, EventEnvelope]]) -> bool:
        try:
            async with UnitOfWork(self.db, self.service) as uow:
                new_ids = await self._record_in_inbox(uow, [e for _, e in batch])
                fresh = []
                for _, event in batch:
                    if event.id in new_ids:
                        new_ids.discard(event.id)  # the same event twice in one batch runs once
                        fresh.append(event)
                await self._dispatch_all(uow, fresh)
                await uow.commit()
        except Exception:  # noqa: BLE001 - fall back to one transaction per message
            return False
        await asyncio.gather(*(msg.ack_sync() for msg, _ in batch))
        self._observe([e for _, e in batch], "handled")
        return True

    async def _handle_alone(self, msg: Msg, event: EventEnvelope) -> None:
        bind_context(event_id=str(event.id), event_type=event.type)
        try:
            async with UnitOfWork(self.db, self.service) as uow:
                if await self._record_in_inbox(uow, [event]):
                    await self._dispatch_all(uow, [event])
                await uow.commit()
        except Exception as exc:  # noqa: BLE001 - any handler error: retry or dead-letter
            await self._failed(msg, event, exc)
            return
        await msg.ack_sync()
        self._observe([event], "handled")

    async def _record_in_inbox(self, uow: UnitOfWork, events: list[EventEnvelope]) -> set:
        result = await uow.session.execute(
            INBOX_INSERT, {"consumer": self.durable, "ids": [e.id for e in events], "types": [e.type for e in events]}
        )
        return set(result.scalars().all())

    async def _dispatch_all(self, uow: UnitOfWork, events: list[EventEnvelope]) -> None:
        """Run batch handlers once per type (in first-seen order), per-event handlers in order."""
        if self.sub.ordered_batch_handler is not None:
            with tracer().start_as_current_span(f"handle {len(events)} events", kind=SpanKind.CONSUMER):
                await self.sub.ordered_batch_handler(uow, events)
            return
        batched: dict[str, list[EventEnvelope]] = {}
        for event in events:
            if event.type in self.sub.batch_handlers:
                batched.setdefault(event.type, []).append(event)
            else:
                await self._dispatch(uow, event)
        for event_type, group in batched.items():
            with tracer().start_as_current_span(f"handle {len(group)} × {event_type}", kind=SpanKind.CONSUMER):
                await self.sub.batch_handlers[event_type](uow, group)

    async def _dispatch(self, uow: UnitOfWork, event: EventEnvelope) -> None:
        handler = self.sub.handlers.get(event.type)
        if handler is None:
            return
        parent = context_from_traceparent(event.traceparent)
        with tracer().start_as_current_span(f"handle {event.type}", context=parent, kind=SpanKind.CONSUMER):
            bind_context(event_id=str(event.id), event_type=event.type, trace_id=current_trace_id())
            await handler(uow, event)

    async def handle_replayed(self, event: EventEnvelope) -> bool:
        """Run a dead-lettered event through its handler now; False if it was already handled."""
        async with UnitOfWork(self.db, self.service) as uow:
            new = await self._record_in_inbox(uow, [event])
            if new:
                await self._dispatch_all(uow, [event])
            await uow.commit()
        return bool(new)

    async def _failed(self, msg: Msg, event: EventEnvelope, exc: Exception) -> None:
        deliveries = msg.metadata.num_delivered
        if deliveries >= self.max_deliveries:
            await self.dead_letter(msg, exc)
            return
        delay = min(self.max_backoff, self.backoff * 2 ** (deliveries - 1))
        log.warning("handler failed, will retry", error=repr(exc), deliveries=deliveries, delay=delay)
        EVENTS_HANDLED.labels(self.service, self.durable, "retried").inc()
        await msg.nak(delay=delay)

    async def dead_letter(self, msg: Msg, exc: Exception) -> None:
        meta = msg.metadata
        headers = {
            "Nats-Msg-Id": f"{self.durable}:{meta.stream}:{meta.sequence.stream}",
            HDR_SUBJECT: msg.subject,
            HDR_STREAM: meta.stream,
            HDR_SEQ: str(meta.sequence.stream),
            HDR_CONSUMER: self.sub.name,
            HDR_ERROR: repr(exc)[:2000].replace("\r", " ").replace("\n", " "),
            HDR_DELIVERIES: str(meta.num_delivered),
            HDR_FAILED_AT: datetime.now(UTC).isoformat(),
        }
        await self.js.publish(self.dead_letter_subject, msg.data, headers=headers)
        await msg.term()
        DEAD_LETTERS.labels(self.service, self.durable).inc()
        EVENTS_HANDLED.labels(self.service, self.durable, "dead_lettered").inc()
        log.error("event dead-lettered", consumer=self.durable, subject=msg.subject, error=repr(exc))

    def _observe(self, events: list[EventEnvelope], outcome: str) -> None:
        EVENTS_HANDLED.labels(self.service, self.durable, outcome).inc(len(events))
        now = time.time()
        histogram = EVENT_LATENCY.labels(self.service, self.durable)
        for event in events:
            histogram.observe(max(0.0, now - event.time.timestamp()))

    async def lag(self) -> tuple[int, int]:
        """(messages not yet delivered, messages awaiting ack) for the metrics endpoint."""
        try:
            info = await self.js.consumer_info(self.sub.stream, self.durable)
        except NotFoundError:
            return 0, 0
        return info.num_pending or 0, info.num_ack_pending or 0
