"""Service-to-service calls: a service token minted by one service is accepted by another,
and the caller's trace context goes along."""

import httpx
from kitapp.app import ROOT, make_app

from carekit.auth.service_client import service_http_client
from carekit.testing.service import running
from carekit.tracing import configure_tracing, tracer


async def test_service_token_is_accepted_and_sees_every_region(migrated_database, nats_url) -> None:
    configure_tracing("test")
    caller = make_app("d1", await migrated_database("d1", ROOT), nats_url)
    callee = make_app("d2", await migrated_database("d2", ROOT), nats_url)
    async with running(callee):
        client = service_http_client("http://callee", caller.state.service_tokens,
                                     transport=httpx.ASGITransport(app=callee))
        async with client:
            with tracer().start_as_current_span("outgoing"):
                me = await client.get("/v1/me")
                sent = me.request.headers
    assert me.status_code == 200, me.text
    assert me.json()["sub"] == "service:d1"
    assert me.json()["roles"] == ["service"]
    assert sent["traceparent"].startswith("00-")
    # The same token is reused until it nears expiry (no signing per request).
    assert caller.state.service_tokens.token() == sent["authorization"].removeprefix("Bearer ")
