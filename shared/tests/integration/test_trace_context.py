"""The trace context travels with an event: the consumer's handler runs in the producer's trace."""

from kitapp.app import ROOT, make_app, notes_subscription
from kitapp.eventing import scalar, wait_for, write_note_with_event
from opentelemetry import trace

from carekit.testing.service import running
from carekit.tracing import configure_tracing, current_trace_id, tracer


async def test_handler_runs_in_the_producers_trace(migrated_database, nats_url) -> None:
    configure_tracing("test")
    a_url, b_url = await migrated_database("a8", ROOT), await migrated_database("b8", ROOT)
    seen: list[str | None] = []

    async def handler(uow, event) -> None:  # noqa: ANN001
        seen.append(current_trace_id())

    producer = make_app("a8", a_url, nats_url, outbox_poll_seconds=0.2)
    consumer = make_app("b8", b_url, nats_url, [notes_subscription("a8", handler)])
    async with running(producer), running(consumer):
        with tracer().start_as_current_span("caseworker request"):
            trace_id = format(trace.get_current_span().get_span_context().trace_id, "032x")
            event = await write_note_with_event(a_url, "a8")
        assert event.traceparent is not None and trace_id in event.traceparent

        async def handled() -> bool:
            return await scalar(b_url, "SELECT count(*) FROM inbox") == 1

        await wait_for(handled, what="handled")
    assert seen == [trace_id]
