"""Partner webhooks on real PostgreSQL and NATS, delivered over HTTP to partner servers on 127.0.0.1.

A subscription belongs to a region: an admin of a neighbouring county neither sees nor touches another
county's subscriptions, deliveries or dead letters (404, or an empty list); bad input is a 4xx.

Every delivery is verified with the `standardwebhooks` package, as a partner would.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from fastapi import FastAPI, Request, Response
from notifications_support import VILLAGE, notifications, payment_event, publish
from standardwebhooks import Webhook, WebhookVerificationError

from simulators.testing import running_simulator


@dataclass
class Partner:
    """A partner server: answers the scripted statuses in turn, then 200; records every request."""

    statuses: list[int] = field(default_factory=list)
    seen: list[tuple[dict, bytes]] = field(default_factory=list)
    url: str = ""

    async def wait_for(self, count: int, wait_s: float = 15.0) -> list[tuple[dict, bytes]]:
        for _ in range(int(wait_s / 0.05)):
            if len(self.seen) >= count:
                return self.seen
            await asyncio.sleep(0.05)
        raise AssertionError(f"partner got {len(self.seen)} requests, expected {count}")


@asynccontextmanager
async def partner_server(statuses: list[int] | None = None) -> AsyncIterator[Partner]:
    partner = Partner(statuses=list(statuses or []))
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        partner.seen.append((dict(request.headers), await request.body()))
        status = partner.statuses.pop(0) if partner.statuses else 200
        return Response(status_code=status, headers={"location": "http://127.0.0.1:1/elsewhere"})

    async with running_simulator(lambda: app) as url:
        partner.url = url + "/hook"
        yield partner


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(migrated_database, nats_url):  # noqa: ANN001, ANN201
    url = await migrated_database("notifications")
    async with notifications(url, nats_url, sender_enabled=False, webhook_schedule_scale=0.0001) as client:
        yield client


def admin(tokens) -> dict:  # noqa: ANN001
    return tokens.headers(roles=["admin"], region="360702", sub="admin-1")


async def subscribe(api, tokens, url: str, **extra) -> dict:  # noqa: ANN001, ANN003
    body = {"url": url, "event_types": ["relief.payment.*"], "region_prefix": "360702"} | extra
    response = await api.post("/v1/webhooks/subscriptions", json=body, headers=admin(tokens))
    assert response.status_code == 201, response.text
    assert response.json()["secret"].startswith("whsec_")
    return response.json()


def verify(secret: str, headers: dict, body: bytes) -> dict:
    return Webhook(secret).verify(body, headers)


async def test_failing_three_times_then_succeeding_gets_the_event_once_more_with_the_same_id(
    api, tokens, nats_url
) -> None:  # noqa: ANN001
    async with partner_server([500, 503, 502]) as partner:
        sub = await subscribe(api, tokens, partner.url)
        event = payment_event()
        await publish(nats_url, event)
        seen = await partner.wait_for(4)
        await asyncio.sleep(0.3)
        assert len(partner.seen) == 4
        ids = {headers["webhook-id"] for headers, _ in seen}
        assert len(ids) == 1
        for headers, body in seen:
            payload = verify(sub["secret"], headers, body)
            assert payload["id"] == str(event.id) and payload["type"] == "relief.payment.failed"
            assert headers["content-type"].startswith("application/cloudevents+json")
        deliveries = await api.get(
            "/v1/webhooks/deliveries", params={"subscription_id": sub["id"]}, headers=admin(tokens)
        )
        [delivery] = deliveries.json()
        assert delivery["id"] == ids.pop() and delivery["state"] == "succeeded" and delivery["attempts"] == 4
        detail = (await api.get(f"/v1/webhooks/deliveries/{delivery['id']}", headers=admin(tokens))).json()
        assert [a["status_code"] for a in detail["attempt_log"]] == [500, 503, 502, 200]
        assert all(a["latency_ms"] > 0 for a in detail["attempt_log"])
        # Redelivering the same event on NATS adds nothing: one delivery per (subscription, event).
        await publish(nats_url, event)
        await asyncio.sleep(0.5)
        assert len(partner.seen) == 4


async def test_region_and_type_filters(api, tokens, nats_url) -> None:  # noqa: ANN001
    async with partner_server() as partner:
        neighbour = tokens.headers(roles=["admin"], region="360703", sub="admin-2")
        response = await api.post(
            "/v1/webhooks/subscriptions",
            json={"url": partner.url, "event_types": ["relief.payment.*"]},
            headers=neighbour,
        )
        sub = response.json()
        assert response.status_code == 201 and sub["region_prefix"] == "360703"
        await publish(nats_url, payment_event(region=VILLAGE))
        await publish(nats_url, payment_event(region="360703001001"))
        [(headers, body)] = await partner.wait_for(1)
        assert verify(sub["secret"], headers, body)["data"]["region_code"] == "360703001001"
        await asyncio.sleep(0.4)
        assert len(partner.seen) == 1


async def test_410_disables_the_endpoint_and_parks_the_delivery_for_replay(api, tokens, nats_url) -> None:  # noqa: ANN001
    async with partner_server([410]) as partner:
        sub = await subscribe(api, tokens, partner.url, region_prefix="360702001")
        event = payment_event()
        await publish(nats_url, event)
        await partner.wait_for(1)
        for _ in range(40):
            subs = (await api.get("/v1/webhooks/subscriptions", headers=admin(tokens))).json()
            if not next(s for s in subs if s["id"] == sub["id"])["active"]:
                break
            await asyncio.sleep(0.05)
        mine = next(s for s in subs if s["id"] == sub["id"])
        assert mine["active"] is False and "410" in mine["disabled_reason"]
        dead = (await api.get("/v1/webhooks/dead-letters", headers=admin(tokens))).json()
        [parked] = [d for d in dead if d["subscription_id"] == sub["id"]]
        enabled = await api.post(f"/v1/webhooks/subscriptions/{sub['id']}/enable", headers=admin(tokens))
        assert enabled.json()["active"] is True
        replay = await api.post(f"/v1/webhooks/deliveries/{parked['id']}/replay", headers=admin(tokens))
        assert replay.json() == {"replayed": 1}
        seen = await partner.wait_for(2)
        assert seen[1][0]["webhook-id"] == parked["id"]
        verify(sub["secret"], *seen[1])


async def test_exhausted_deliveries_are_dead_lettered_and_a_range_can_be_replayed(api, tokens, nats_url) -> None:  # noqa: ANN001
    async with partner_server([500] * 8) as partner:
        sub = await subscribe(
            api, tokens, partner.url, region_prefix="360702001001", event_types=["relief.payment.returned"]
        )
        start = datetime.now(UTC) - timedelta(seconds=1)
        await publish(nats_url, payment_event("relief.payment.returned"))
        await partner.wait_for(8, wait_s=30)  # the schedule, ~27.6 h, compressed to ~10 s
        for _ in range(100):
            dead = (await api.get("/v1/webhooks/dead-letters", headers=admin(tokens))).json()
            if any(d["subscription_id"] == sub["id"] for d in dead):
                break
            await asyncio.sleep(0.1)
        [parked] = [d for d in dead if d["subscription_id"] == sub["id"]]
        assert parked["attempts"] == 8 and parked["last_status"] == 500
        replay = await api.post(
            f"/v1/webhooks/subscriptions/{sub['id']}/replay",
            json={"since": start.isoformat(), "until": datetime.now(UTC).isoformat()},
            headers=admin(tokens),
        )
        assert replay.json() == {"replayed": 1}
        seen = await partner.wait_for(9)
        assert seen[8][0]["webhook-id"] == parked["id"]


async def test_secret_rotation_signs_with_both_secrets_during_the_overlap(api, tokens, nats_url) -> None:  # noqa: ANN001
    async with partner_server() as partner:
        sub = await subscribe(api, tokens, partner.url, region_prefix="360702")
        rotated = await api.post(
            f"/v1/webhooks/subscriptions/{sub['id']}/rotate-secret", json={"overlap_hours": 1}, headers=admin(tokens)
        )
        assert rotated.status_code == 200
        new_secret = rotated.json()["secret"]
        assert new_secret != sub["secret"]
        await publish(nats_url, payment_event("relief.payment.succeeded"))
        [(headers, body)] = await partner.wait_for(1)
        assert len(headers["webhook-signature"].split(" ")) == 2
        verify(new_secret, headers, body)
        verify(sub["secret"], headers, body)
        ended = await api.post(
            f"/v1/webhooks/subscriptions/{sub['id']}/rotate-secret", json={"overlap_hours": 0}, headers=admin(tokens)
        )
        await publish(nats_url, payment_event("relief.payment.succeeded"))
        seen = await partner.wait_for(2)
        headers, body = seen[1]
        verify(ended.json()["secret"], headers, body)
        try:
            verify(new_secret, headers, body)
        except WebhookVerificationError:
            pass
        else:
            raise AssertionError("the replaced secret must stop signing after a zero overlap")


async def test_ssrf_guard_refuses_inward_and_non_http_urls(api, tokens) -> None:  # noqa: ANN001
    for url in [
        "ftp://example.com/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.8/hook",
        "http://[::1]:8080/hook",
        "http://192.168.1.20/x",
        "http://user:pw@127.0.0.1/x",
    ]:
        response = await api.post(
            "/v1/webhooks/subscriptions", json={"url": url, "event_types": ["relief.>"]}, headers=admin(tokens)
        )
        assert response.status_code == 422, url
        assert response.headers["content-type"] == "application/problem+json"
    unknown = await api.post(
        "/v1/webhooks/subscriptions",
        json={"url": "http://127.0.0.1:9/x", "event_types": ["relief.payment.lost"]},
        headers=admin(tokens),
    )
    assert unknown.status_code == 422 and "relief.payment.lost" in unknown.json()["detail"]


async def test_redirects_are_not_followed(api, tokens, nats_url) -> None:  # noqa: ANN001
    async with partner_server([302, 200]) as partner:
        sub = await subscribe(api, tokens, partner.url, region_prefix="360702001")
        await publish(nats_url, payment_event())
        await partner.wait_for(2)
        deliveries = (
            await api.get("/v1/webhooks/deliveries", params={"subscription_id": sub["id"]}, headers=admin(tokens))
        ).json()
        detail = (await api.get(f"/v1/webhooks/deliveries/{deliveries[0]['id']}", headers=admin(tokens))).json()
        assert [a["status_code"] for a in detail["attempt_log"]][:1] == [302]


# Jurisdiction: a subscription belongs to its region; a neighbouring admin sees and touches none of it.
COUNTY, NEIGHBOUR = "360702", "360703"


def admin_of(tokens, region: str | None, sub: str = "admin") -> dict:  # noqa: ANN001
    return tokens.headers(roles=["admin"], region=region, sub=sub)


async def dead_delivery(api, tokens, nats_url, partner) -> tuple[dict, dict]:  # noqa: ANN001
    """A subscription of COUNTY (its admin's region by default) whose only delivery the partner refused with 410."""
    created = await api.post(
        "/v1/webhooks/subscriptions",
        json={"url": partner.url, "event_types": ["relief.payment.failed"]},
        headers=admin_of(tokens, COUNTY),
    )
    assert created.status_code == 201, created.text
    sub = created.json()
    assert sub["region_prefix"] == COUNTY
    await publish(nats_url, payment_event())
    await partner.wait_for(1)
    for _ in range(100):
        dead = (await api.get("/v1/webhooks/dead-letters", headers=admin_of(tokens, COUNTY))).json()
        mine = [d for d in dead if d["subscription_id"] == sub["id"]]
        if mine:
            return sub, mine[0]
        await asyncio.sleep(0.05)
    raise AssertionError("the delivery never reached the dead letters")


async def subscriptions_named(api, path: str, params: dict, headers: dict) -> set[str]:  # noqa: ANN001
    """The subscriptions a list answer names: its items' own ids, or the subscription of each delivery."""
    response = await api.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return {item.get("subscription_id", item["id"]) for item in response.json()}


async def test_a_neighbouring_admin_sees_and_touches_nothing_of_another_countys_webhooks(api, tokens, nats_url):  # noqa: ANN001
    async with partner_server([410]) as partner:
        sub, delivery = await dead_delivery(api, tokens, nats_url, partner)
    outsider, insider = admin_of(tokens, NEIGHBOUR, "admin-3"), admin_of(tokens, COUNTY)
    lists = [
        ("/v1/webhooks/subscriptions", {}),
        ("/v1/webhooks/deliveries", {}),
        ("/v1/webhooks/deliveries", {"subscription_id": sub["id"]}),
        ("/v1/webhooks/deliveries", {"event_id": delivery["event_id"]}),
        ("/v1/webhooks/dead-letters", {}),
    ]
    for path, params in lists:
        assert sub["id"] not in await subscriptions_named(api, path, params, outsider), path
        assert sub["id"] in await subscriptions_named(api, path, params, insider), path
    records = [
        ("GET", f"/v1/webhooks/deliveries/{delivery['id']}", None),
        ("POST", f"/v1/webhooks/deliveries/{delivery['id']}/replay", None),
        ("POST", f"/v1/webhooks/subscriptions/{sub['id']}/rotate-secret", {}),
        ("POST", f"/v1/webhooks/subscriptions/{sub['id']}/enable", None),
        (
            "POST",
            f"/v1/webhooks/subscriptions/{sub['id']}/replay",
            {"since": "2026-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"},
        ),
    ]
    for method, path, body in records:
        response = await api.request(method, path, json=body, headers=outsider)
        assert response.status_code == 404, (path, response.text)
    # nothing changed: the subscription still disabled, its secret unchanged, the delivery still dead
    [mine] = [s for s in (await api.get("/v1/webhooks/subscriptions", headers=insider)).json() if s["id"] == sub["id"]]
    assert mine["active"] is False and mine["previous_secret_expires_at"] is None
    detail = await api.get(f"/v1/webhooks/deliveries/{delivery['id']}", headers=insider)
    assert detail.status_code == 200 and detail.json()["state"] == "dead"


@pytest.mark.parametrize(
    ("region", "asked", "status"),
    [
        (COUNTY, NEIGHBOUR, 403),
        (COUNTY, "36", 403),
        (COUNTY, "360702001", 201),
        ("36", NEIGHBOUR, 201),
        (None, COUNTY, 403),
        (None, None, 403),
        (COUNTY, "", 422),
        (COUNTY, "3607021", 422),
    ],
)
async def test_a_subscription_lies_inside_the_region_of_the_admin_who_registers_it(api, tokens, region, asked, status):  # noqa: ANN001
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["relief.>"]} | (
        {} if asked is None else {"region_prefix": asked}
    )
    response = await api.post("/v1/webhooks/subscriptions", json=body, headers=admin_of(tokens, region))
    assert response.status_code == status, response.text
    if status == 201:
        assert response.json()["region_prefix"] == asked
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert "region_prefix" in response.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"state": "\x00"}, "state"),
        ({"state": "bogus"}, "state"),
        ({"limit": str(10**30)}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"subscription_id": "not-a-uuid"}, "subscription_id"),
        ({"event_id": "1" * 5000}, "event_id"),
    ],
)
async def test_odd_delivery_filters_are_a_4xx_naming_the_parameter(api, tokens, params, field) -> None:  # noqa: ANN001
    response = await api.get("/v1/webhooks/deliveries", params=params, headers=admin_of(tokens, COUNTY))
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


@pytest.mark.parametrize("delivery_id", ["%00", "x" * 300, "msg_" + "g" * 32])
async def test_odd_delivery_ids_are_a_4xx(api, tokens, delivery_id: str) -> None:  # noqa: ANN001
    for method, suffix in (("GET", ""), ("POST", "/replay")):
        response = await api.request(
            method, f"/v1/webhooks/deliveries/{delivery_id}{suffix}", headers=admin_of(tokens, COUNTY)
        )
        assert response.status_code == 422, response.text


async def registered(api, tokens) -> str:  # noqa: ANN001
    created = await api.post(
        "/v1/webhooks/subscriptions",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["relief.>"]},
        headers=admin_of(tokens, COUNTY),
    )
    return created.json()["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"since": "0001-01-01T00:00:00+14:00", "until": "9999-12-31T23:59:59-14:00"},  # beyond what PostgreSQL holds
        {"since": "2026-01-01T00:00:00Z", "until": "9999-12-31T23:59:59-14:00"},
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},  # an empty range
    ],
)
async def test_any_replay_range_the_schema_allows_is_answered(api, tokens, body: dict) -> None:  # noqa: ANN001
    sub = await registered(api, tokens)
    response = await api.post(f"/v1/webhooks/subscriptions/{sub}/replay", json=body, headers=admin_of(tokens, COUNTY))
    assert response.status_code == 200 and response.json() == {"replayed": 0}, response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"since": "2026-01-01T00:00:00", "until": "2026-01-02T00:00:00Z"}, "since"),  # no offset: not RFC 3339
        ({"since": "2026-01-01T00:00:00Z", "until": "2026-01-02T00:00:00Z", "only_failed": "yes"}, "only_failed"),
    ],
)
async def test_a_replay_range_off_the_schema_is_a_4xx_naming_the_field(api, tokens, body, field) -> None:  # noqa: ANN001
    sub = await registered(api, tokens)
    response = await api.post(f"/v1/webhooks/subscriptions/{sub}/replay", json=body, headers=admin_of(tokens, COUNTY))
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]


@pytest.mark.parametrize(
    "url", ["http://[::1", "http://127.0.0.1:99999/x", "http://a..b/x", "http://" + "a" * 70 + ".example/x"]
)
async def test_an_unreadable_url_is_a_4xx_naming_url(api, tokens, url: str) -> None:  # noqa: ANN001
    response = await api.post(
        "/v1/webhooks/subscriptions", json={"url": url, "event_types": ["relief.>"]}, headers=admin_of(tokens, COUNTY)
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"].endswith("url")
