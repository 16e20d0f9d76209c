"""Request id, trace context, access metrics and log context for every request (pure ASGI)."""

import time
import uuid

from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carekit.logging import bind_context, clear_context
from carekit.metrics import REQUEST_LATENCY
from carekit.tracing import context_from_traceparent, current_trace_id, tracer


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, service_name: str) -> None:
        self.app = app
        self.service = service_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get("x-request-id") or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        parent = context_from_traceparent(headers.get("traceparent"))
        token = otel_context.attach(parent)
        status = 500
        start = time.perf_counter()
        clear_context()
        try:
            with tracer().start_as_current_span(f"{scope['method']} {scope['path']}", kind=SpanKind.SERVER):
                bind_context(request_id=request_id, trace_id=current_trace_id())

                async def send_wrapper(message: Message) -> None:
                    nonlocal status
                    if message["type"] == "http.response.start":
                        status = message["status"]
                        message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
                    await send(message)

                await self.app(scope, receive, send_wrapper)
        finally:
            otel_context.detach(token)
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            REQUEST_LATENCY.labels(self.service, scope["method"], path, str(status)).observe(
                time.perf_counter() - start
            )
            clear_context()
