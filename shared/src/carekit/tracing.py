"""OpenTelemetry context carried over HTTP and NATS as a W3C `traceparent`."""

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()
_configured = False


def configure_tracing(service_name: str) -> None:
    """Install an SDK tracer provider once per process (exporters are added by deployment config)."""
    global _configured
    if _configured:
        return
    from opentelemetry.sdk.resources import Resource

    trace.set_tracer_provider(TracerProvider(resource=Resource.create({"service.name": service_name})))
    _configured = True


def tracer(name: str = "carekit") -> trace.Tracer:
    return trace.get_tracer(name)


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def context_from_traceparent(traceparent: str | None) -> otel_context.Context:
    return _propagator.extract({"traceparent": traceparent} if traceparent else {})


def current_trace_id() -> str | None:
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


def inject_headers(headers: dict[str, str]) -> dict[str, str]:
    """Add `traceparent` to outgoing HTTP headers (httpx)."""
    _propagator.inject(headers)
    return headers
