"""The whole platform starts on real ports with its simulators, every service ready and authenticated."""

import httpx


async def test_every_service_is_ready_on_its_own_database_and_nats(platform, tokens):
    caseworker = tokens.headers(roles=["caseworker"], region="360702")
    for service in ("registry", "entitlements", "relief", "notifications"):
        async with platform.client(service) as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 200, (service, ready.text)
            assert ready.json()["checks"]["nats"] == "ok"
            assert (await client.get("/v1/me")).status_code == 401
            assert (await client.get("/v1/me", headers=caseworker)).json()["region"] == "360702"
    async with httpx.AsyncClient() as client:
        for simulator in (platform.payments, platform.sms):
            assert (await client.get(f"{simulator}/healthz")).status_code == 200
