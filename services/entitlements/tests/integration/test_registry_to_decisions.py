"""End to end over real NATS: the real registry app and the entitlements app side by side. A death
reported through the registry's API revokes the child's benefit and grants the bereaved parents',
within 2 s, each decision exactly once (one database per service, as in production)."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import date

import httpx
import nats
import pytest_asyncio
from registry_events import fetch, wait_for

from carekit.devstack.catalogue import service_app
from carekit.testing.service import running
from entitlements.main import create_app
from entitlements.service.decisions import today_in_china
from entitlements.settings import EntitlementsSettings

REGION = "360702"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def apps(migrated_database, nats_url) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    registry_url = await migrated_database("registry")
    entitlements_url = await migrated_database("entitlements")
    registry = service_app("registry", database_url=registry_url, nats_url=nats_url, environment="test",
                           outbox_poll_seconds=0.2)  # the real registry: our own infrastructure, started by name
    entitlements = create_app(EntitlementsSettings(database_url=entitlements_url, nats_url=nats_url,
                                                   environment="test", outbox_poll_seconds=0.2,
                                                   consumer_backoff_seconds=0.05))
    async with running(entitlements), running(registry) as client:
        yield client, entitlements_url


def years_before(day: date, years: int) -> str:
    return day.replace(year=day.year - years, day=min(day.day, 28)).isoformat()


async def on_stream(url: str, household_id: str) -> list[tuple[str, dict]]:
    nc = await nats.connect(url)
    try:
        sub = await nc.jetstream().pull_subscribe("entitlements.decision.>", stream="ENTITLEMENTS")
        found = []
        while True:
            try:
                msgs = await sub.fetch(100, timeout=0.5)
            except (TimeoutError, nats.errors.TimeoutError):
                return [(t, d) for t, d in found if d["household_id"] == household_id]
            for msg in msgs:
                body = json.loads(msg.data)
                found.append((body["type"], body["data"]))
                await msg.ack()
    finally:
        await nc.close()


async def test_a_death_in_the_registry_revokes_and_grants_within_2s_exactly_once(apps, tokens, nats_url) -> None:
    client, entitlements_url = apps
    headers = tokens.headers(roles=["caseworker"], region=REGION, sub="cw-e2e")
    today = today_in_china()
    home = await client.post("/v1/households", headers=headers, json={
        "division_code": "360702001001", "hukou_type": "rural", "address": "章贡区某村8号"})
    assert home.status_code == 201, home.text
    household_id = home.json()["id"]
    people = {}
    for key, body in (("dad", {"name": "刘建", "relation": "head", "sex": "male",
                               "birth_date": years_before(today, 53)}),
                      ("mum", {"name": "周兰", "relation": "spouse", "sex": "female",
                               "birth_date": years_before(today, 52)})):
        created = await client.post("/v1/persons", headers=headers, json={"household_id": household_id, **body})
        assert created.status_code == 201, created.text
        people[key] = created.json()["id"]
    son = await client.post("/v1/persons", headers=headers, json={
        "household_id": household_id, "name": "刘小军", "relation": "child", "sex": "male",
        "birth_date": years_before(today, 15), "mother_id": people["mum"], "father_id": people["dad"]})
    assert son.status_code == 201, son.text
    people["son"] = son.json()["id"]

    seen: list[tuple[float, str, dict]] = []

    async def receive(msg) -> None:  # noqa: ANN001
        body = json.loads(msg.data)
        if body["data"].get("household_id") == household_id:
            seen.append((time.monotonic(), body["type"], body["data"]))

    def of(kind: str, policy: str) -> list[dict]:
        return [d for _, t, d in seen if t == f"entitlements.decision.{kind}" and d["policy"] == policy]

    nc = await nats.connect(nats_url)
    await nc.subscribe("entitlements.decision.>", cb=receive)
    try:
        async def exam_granted() -> bool:
            return bool(of("granted", "exam-bonus-points"))
        await wait_for(exam_granted, timeout=10, what="exam bonus granted to the 15-year-old")
        assert of("granted", "exam-bonus-points")[0]["subject_id"] == people["son"]
        assert not of("granted", "special-assistance-bereaved")

        start = time.monotonic()
        died = await client.post(f"/v1/persons/{people['son']}/events", headers=headers,
                                 json={"kind": "death", "effective_date": today.isoformat()})
        assert died.status_code == 201, died.text

        async def revoked_and_granted() -> bool:
            return (len(of("revoked", "exam-bonus-points")) == 1
                    and len(of("granted", "special-assistance-bereaved")) == 2)
        await wait_for(revoked_and_granted, timeout=10, what="revocation and grants")
        latest = max(t for t, _, d in seen if d["policy"] in ("exam-bonus-points", "special-assistance-bereaved")
                     and t >= start)
        assert latest - start < 2.0, f"took {latest - start:.2f}s"
        await asyncio.sleep(1.5)  # anything doubled would arrive by now
    finally:
        await nc.close()

    revoked = of("revoked", "exam-bonus-points")[0]
    assert revoked["subject_id"] == people["son"] and revoked["effective_date"] == today.isoformat()
    assert revoked["reason"].startswith("registry.")
    granted = of("granted", "special-assistance-bereaved")
    assert {g["subject_id"] for g in granted} == {people["dad"], people["mum"]}
    assert all(g["amount"] == 17000 for g in granted)
    counts: dict[tuple[str, str, str], int] = {}
    for t, d in await on_stream(nats_url, household_id):
        key = (t, d["policy"], d["subject_id"])
        counts[key] = counts.get(key, 0) + 1
    assert counts[("entitlements.decision.revoked", "exam-bonus-points", people["son"])] == 1
    assert all(n == 1 for n in counts.values()), counts
    stored = await fetch(entitlements_url, "SELECT eligible FROM decisions WHERE policy_code = 'exam-bonus-points' "
                                           "AND subject_id = $1::uuid", people["son"])
    assert [r[0] for r in stored] == [False]
