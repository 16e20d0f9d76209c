"""Messages are seen inside the region of their recipient (stored with the message), filtered in SQL, so a
limit counts only what the caller may see; a message whose region is not known is seen by the services only."""

import asyncio

import pytest_asyncio
from notifications_support import notifications, payment_event, publish

COUNTY_VILLAGE, NEIGHBOUR_VILLAGE = "360702001001", "360703001001"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(migrated_database, nats_url):  # noqa: ANN001, ANN201
    url = await migrated_database("notifications")
    async with notifications(url, nats_url, sender_enabled=False, webhooks_enabled=False) as client:
        yield client


async def message_of(api, tokens, event) -> dict:  # noqa: ANN001
    everywhere = tokens.headers(roles=["ops", "service"], sub="service:ops")
    for _ in range(100):
        found = (await api.get("/v1/messages", params={"event_id": str(event.id)}, headers=everywhere)).json()
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no message for {event.type}")


async def test_a_caseworker_sees_the_messages_of_her_region_only(api, tokens, nats_url) -> None:  # noqa: ANN001
    neighbours, county, unknown = (payment_event(region=r) for r in (NEIGHBOUR_VILLAGE, COUNTY_VILLAGE, None))
    messages = {}
    for event in (neighbours, county, unknown):  # in this order: the county's message is newer than the neighbour's
        await publish(nats_url, event)
        messages[event.id] = await message_of(api, tokens, event)
    assert messages[unknown.id]["region_code"] is None
    neighbour = tokens.headers(roles=["caseworker"], region="360703", sub="cw-neighbour")
    insider = tokens.headers(roles=["caseworker"], region="360702", sub="cw-county")

    newest = (await api.get("/v1/messages", params={"limit": 1}, headers=neighbour)).json()
    assert [m["id"] for m in newest] == [messages[neighbours.id]["id"]]
    for event in (county, unknown):
        listed = await api.get("/v1/messages", params={"event_id": str(event.id)}, headers=neighbour)
        assert listed.status_code == 200 and listed.json() == []
        one = await api.get(f"/v1/messages/{messages[event.id]['id']}", headers=neighbour)
        assert one.status_code == 404 and one.headers["content-type"] == "application/problem+json"
    seen = await api.get(f"/v1/messages/{messages[county.id]['id']}", headers=insider)
    assert seen.status_code == 200 and seen.json()["region_code"] == COUNTY_VILLAGE
    assert (await api.get(f"/v1/messages/{messages[unknown.id]['id']}", headers=insider)).status_code == 404
    regionless = tokens.headers(roles=["ops"], sub="ops-without-region")
    assert (await api.get("/v1/messages", headers=regionless)).json() == []


async def test_an_unknown_state_filter_is_a_4xx_naming_it(api, tokens) -> None:  # noqa: ANN001
    response = await api.get(
        "/v1/messages", params={"state": "bogus"}, headers=tokens.headers(roles=["ops"], region="360702")
    )
    assert response.status_code == 422 and "state" in response.json()["detail"]
