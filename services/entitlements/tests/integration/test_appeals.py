"""Appeals and manual overrides: filed, decided by someone else, audited, shown in the explanation, and
changing the decision (published once over real NATS)."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date

import httpx
import nats
import pytest
import pytest_asyncio
from entitlements_support import ONE_CHILD, household, load_rows, pid
from registry_events import fetch
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from carekit.db.engine import sqlalchemy_url
from carekit.pii import build_vault
from carekit.testing.service import running
from entitlements.main import create_app
from entitlements.settings import EntitlementsSettings

MUM, DAD = pid(ONE_CHILD, "mum"), pid(ONE_CHILD, "dad")
REWARD = "rural-reward-assistance"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(migrated_database, nats_url) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    url = await migrated_database("entitlements")
    engine = create_async_engine(sqlalchemy_url(url))
    async with engine.begin() as conn:
        await load_rows(conn, household(ONE_CHILD))
    await engine.dispose()
    app = create_app(EntitlementsSettings(database_url=url, nats_url=nats_url, environment="test",
                                          outbox_poll_seconds=0.2))
    async with running(app) as client:
        yield client, url


@pytest.fixture
def caseworker(tokens) -> dict[str, str]:
    return tokens.headers(sub="cw-1", roles=["caseworker"], region="360702")


@pytest.fixture
def approver(tokens) -> dict[str, str]:
    return tokens.headers(sub="ap-1", roles=["approver"], region="360702")


async def decision_events(nats_url: str, subject_id: str) -> list[tuple[str, dict]]:
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().pull_subscribe("entitlements.decision.>", stream="ENTITLEMENTS")
        found = []
        while True:
            try:
                msgs = await sub.fetch(100, timeout=0.5)
            except (TimeoutError, nats.errors.TimeoutError):
                return [(t, d) for t, d in found if d["subject_id"] == subject_id]
            for msg in msgs:
                body = json.loads(msg.data)
                found.append((body["type"], body["data"]))
                await msg.ack()
    finally:
        await nc.close()


def reward_of(body: dict) -> dict:
    return next(e for e in body["entitlements"] if e["policy"] == REWARD)


async def test_an_override_grants_shows_and_publishes_once(service, caseworker, approver, tokens, nats_url) -> None:
    client, url = service
    path = f"/v1/persons/{MUM}/entitlements?as_of=2026-11-24"
    assert not reward_of((await client.get(path, headers=caseworker)).json())["eligible"]  # she is 58
    filed = await client.post("/v1/appeals", json={"person_id": MUM, "policy": REWARD,
                                                   "reason": "户籍年龄登记有误，实际已满60岁"}, headers=caseworker)
    assert filed.status_code == 201, filed.text
    appeal = filed.json()
    assert appeal["status"] == "open" and appeal["filed_by"] == "cw-1"

    both = tokens.headers(sub="cw-1", roles=["caseworker", "approver"], region="360702")
    decision = {"outcome": "override", "eligible": True, "amount": 96000, "reason": "经核实出生日期为1966年",
                "expires_on": "2027-12-31"}
    assert (await client.post(f"/v1/appeals/{appeal['id']}/decision", json=decision, headers=both)).status_code == 403
    past = await client.post(f"/v1/appeals/{appeal['id']}/decision", json=decision | {"expires_on": "2020-01-01"},
                             headers=approver)
    assert past.status_code == 422 and past.json()["field"] == "expires_on"
    assert (await fetch(url, "SELECT status FROM appeals"))[0][0] == "open"
    assert await fetch(url, "SELECT 1 FROM overrides") == []

    granted = await client.post(f"/v1/appeals/{appeal['id']}/decision", json=decision, headers=approver)
    assert granted.status_code == 200 and granted.json()["status"] == "granted"
    assert (await client.post(f"/v1/appeals/{appeal['id']}/decision", json=decision,
                              headers=approver)).status_code == 409

    body = (await client.get(path, headers=caseworker)).json()
    reward = reward_of(body)
    assert reward["eligible"] and reward["amount"] == 96000
    assert reward["override"]["reason"] == "经核实出生日期为1966年" and reward["override"]["decided_by"] == "ap-1"
    assert reward["summary"]["zh"].startswith("人工认定符合（至2027-12-31）")
    assert any(not c["passed"] for c in reward["criteria"])  # the rules' own verdict is still shown
    assert [a["status"] for a in body["appeals"]] == ["granted"]
    after_expiry = reward_of((await client.get(f"/v1/persons/{MUM}/entitlements?as_of=2028-01-01",
                                               headers=caseworker)).json())
    assert not after_expiry["eligible"] and after_expiry["override"] is None

    stored = await fetch(url, "SELECT eligible, amount FROM decisions WHERE policy_code = $1 AND subject_id = $2::uuid",
                         REWARD, MUM)
    assert [tuple(r) for r in stored] == [(True, 96000)]
    audit = await fetch(url, "SELECT actor, action FROM audit_log WHERE entity = $1 ORDER BY id",
                        f"appeal/{appeal['id']}")
    assert [tuple(r) for r in audit] == [("cw-1", "appeal.filed"), ("ap-1", "appeal.granted")]

    await asyncio.sleep(1.0)
    events = [(t, d) for t, d in await decision_events(nats_url, MUM) if d["policy"] == REWARD]
    assert [(t, d["amount"]) for t, d in events] == [("entitlements.decision.granted", 96000)]
    assert events[0][1]["reason"] == "manual override"


async def test_an_override_to_not_eligible_revokes(service, caseworker, approver, nats_url) -> None:
    client, url = service
    body = {"person_id": DAD, "policy": REWARD, "reason": "举报：非独生子女户"}
    appeal = (await client.post("/v1/appeals", json=body, headers=caseworker)).json()
    refused = await client.post(f"/v1/appeals/{appeal['id']}/decision",
                                json={"outcome": "override", "eligible": False, "reason": "核实为二孩家庭",
                                      "expires_on": "2027-06-30"}, headers=approver)
    assert refused.status_code == 200, refused.text
    reward = reward_of((await client.get(f"/v1/persons/{DAD}/entitlements?as_of=2026-11-24",
                                         headers=caseworker)).json())
    assert not reward["eligible"] and reward["summary"]["en"].startswith("Not eligible by manual override")
    await asyncio.sleep(1.0)
    kinds = [t.rsplit(".", 1)[1] for t, d in await decision_events(nats_url, DAD) if d["policy"] == REWARD]
    assert kinds == ["granted", "revoked"]  # granted when the first override re-decided the household


async def test_the_partners_check_follows_the_overrides(service, tokens) -> None:
    """After the two tests above: mum is eligible by override until 2027-12-31, dad not until 2027-06-30."""
    client, url = service
    numbers = {MUM: "360702196803150028", DAD: "36070219660315001X"}
    vault = build_vault(EntitlementsSettings(database_url=url, environment="test"))
    engine = create_async_engine(sqlalchemy_url(url))
    async with engine.begin() as conn:
        for person, number in numbers.items():
            await conn.execute(text("UPDATE person_facts SET id_number_index = :i WHERE person_id = :p"),
                               {"i": vault.index(number, "id_number"), "p": person})
    await engine.dispose()
    partner = tokens.headers(sub="hospital-1", roles=["partner"], region="3607", agency="hospital-1")

    async def check(person: str) -> dict:
        answer = await client.get("/v1/eligibility", params={"policy": REWARD, "id_number": numbers[person]},
                                  headers=partner)
        assert answer.status_code == 200, answer.text
        return answer.json()

    if date.today() <= date(2027, 6, 30):
        assert await check(MUM) == {"policy": REWARD, "eligible": True, "valid_until": "2027-12-31"}
        assert await check(DAD) == {"policy": REWARD, "eligible": False, "valid_until": None}


async def test_refusing_an_appeal_writes_no_override(service, caseworker, approver) -> None:
    client, url = service
    appeal = (await client.post("/v1/appeals", json={"person_id": MUM, "policy": "relief-priority",
                                                     "reason": "家庭困难"}, headers=caseworker)).json()
    before = (await fetch(url, "SELECT count(*) FROM overrides"))[0][0]
    response = await client.post(f"/v1/appeals/{appeal['id']}/decision",
                                 json={"outcome": "refuse", "reason": "不属于失独或伤残家庭"}, headers=approver)
    assert response.status_code == 200 and response.json()["status"] == "refused"
    assert (await fetch(url, "SELECT count(*) FROM overrides"))[0][0] == before
    unknown = await client.post("/v1/appeals", json={"person_id": MUM, "policy": "no-such", "reason": "x"},
                                headers=caseworker)
    assert unknown.status_code == 404


async def test_a_decision_is_checked_by_its_schema(service, caseworker, approver) -> None:
    """Issue 13: an override's amount beyond the database's integers was a 500, and an override without
    `expires_on` was refused although the schema allowed it: each outcome now has its own schema."""
    client, url = service
    appeal = (await client.post("/v1/appeals", json={"person_id": DAD, "policy": REWARD, "reason": "复核"},
                                headers=caseworker)).json()
    path = f"/v1/appeals/{appeal['id']}/decision"
    override = {"outcome": "override", "eligible": True, "amount": 96000, "reason": "核实", "expires_on": "2030-01-01"}
    for body, field in ((override | {"amount": 10**20}, "body.override.amount"),
                        ({k: v for k, v in override.items() if k != "expires_on"}, "body.override.expires_on"),
                        ({"outcome": "refuse", "reason": "x", "eligible": True}, "body.refuse.eligible")):
        answer = await client.post(path, json=body, headers=approver)
        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == [field]
    assert (await fetch(url, "SELECT status FROM appeals WHERE id = $1::uuid", appeal["id"]))[0][0] == "open"
    app = create_app(EntitlementsSettings(database_url=url, environment="test"))
    schema = app.openapi()["paths"]["/v1/appeals/{appeal_id}/decision"]["post"]["requestBody"]["content"]
    decision = schema["application/json"]["schema"]
    assert decision["discriminator"]["propertyName"] == "outcome" and len(decision["oneOf"]) == 2
