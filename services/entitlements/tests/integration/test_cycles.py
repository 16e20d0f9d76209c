"""Benefit cycles over HTTP on real PostgreSQL and NATS: frozen lines, county summary, maker ≠ checker,
one line per (policy, period, subject) ever, chunks to relief (C2), and the county fan-out."""

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator

import httpx
import nats
import pytest
import pytest_asyncio
from entitlements_support import BEREAVED, ONE_CHILD, TEEN, TWO_DAUGHTERS, Family, household, load_rows, pid
from registry_events import fetch
from sqlalchemy.ext.asyncio import create_async_engine

from carekit.db.engine import Database, sqlalchemy_url
from carekit.testing.service import running
from entitlements.main import create_app
from entitlements.service import cycles
from entitlements.settings import EntitlementsSettings

ELDERS = dataclasses.replace(TWO_DAUGHTERS, name="elders-703", division="360703002001")
FAR = dataclasses.replace(TWO_DAUGHTERS, name="elders-far", division="361102001001")  # outside 3607
TEEN_703 = dataclasses.replace(TEEN, name="teen-703", division="360703001002")
MANY = tuple(dataclasses.replace(TWO_DAUGHTERS, name=f"many-{i}", division=f"3607{21 + i % 3:02d}00100{i % 2 + 1}")
             for i in range(560))
FAMILIES: tuple[Family, ...] = (ONE_CHILD, TWO_DAUGHTERS, BEREAVED, TEEN, ELDERS, FAR, TEEN_703, *MANY)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(migrated_database, nats_url) -> AsyncIterator[tuple[httpx.AsyncClient, str, object]]:
    url = await migrated_database("entitlements")
    engine = create_async_engine(sqlalchemy_url(url))
    async with engine.begin() as conn:
        await load_rows(conn, [row for family in FAMILIES for row in household(family)])
    await engine.dispose()
    app = create_app(EntitlementsSettings(database_url=url, nats_url=nats_url, environment="test",
                                          outbox_poll_seconds=0.2))
    async with running(app) as client:
        yield client, url, app


@pytest.fixture
def admin(tokens) -> dict[str, str]:
    return tokens.headers(sub="maker", roles=["admin"], region="3607")


@pytest.fixture
def approver(tokens) -> dict[str, str]:
    return tokens.headers(sub="checker", roles=["approver"], region="3607")


async def all_lines(client: httpx.AsyncClient, cycle_id: str, headers: dict[str, str]) -> list[dict]:
    lines, cursor = [], None
    while True:
        params = {"limit": 200} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"/v1/cycles/{cycle_id}/lines", params=params, headers=headers)).json()
        lines += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return lines


async def approved_events(nats_url: str, cycle_id: str) -> list[dict]:
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().pull_subscribe("entitlements.cycle.approved", stream="ENTITLEMENTS")
        found = []
        while True:
            try:
                msgs = await sub.fetch(50, timeout=0.5)
            except (TimeoutError, nats.errors.TimeoutError):
                return [e for e in found if e["data"]["cycle_id"] == cycle_id]
            for msg in msgs:
                found.append(json.loads(msg.data))
                await msg.ack()
    finally:
        await nc.close()


async def test_reward_cycle_freezes_lines_summarises_and_publishes_chunks(service, admin, approver, tokens,
                                                                         nats_url) -> None:
    client, url, _ = service
    created = await client.post("/v1/cycles", json={"policy": "rural-reward-assistance", "period": "2026"},
                                headers=admin)
    assert created.status_code == 201, created.text
    cycle = created.json()
    assert cycle["status"] == "ready" and cycle["as_of"] == "2026-01-01" and cycle["region"] == "3607"
    # both parents of every two-daughter family in 3607 (not the one in 3611), nobody else (the only-child
    # father turns 60 on 2026-03-15, after the period's first day)
    expected = {pid(f, who) for f in (TWO_DAUGHTERS, ELDERS, *MANY) for who in ("dad", "mum")}
    lines = await all_lines(client, cycle["id"], admin)
    assert {line["subject_id"] for line in lines} == expected
    assert all(line["amount"] == 96000 and line["payee_person_id"] == line["subject_id"] for line in lines)
    assert cycle["total_lines"] == len(expected) == 1124 and cycle["total_amount"] == 96000 * 1124

    summary = (await client.get(f"/v1/cycles/{cycle['id']}/summary", headers=admin)).json()
    by_county = {c["county"]: c for c in summary["counties"]}
    assert by_county["360703"]["lines"] == 2 and by_county["360703"]["townships"] == [
        {"township": "360703002", "lines": 2, "amount": 192000}]
    assert sum(c["lines"] for c in by_county.values()) == 1124 and "361102" not in by_county
    items = await fetch(url, "SELECT area_code, status FROM cycle_work_items WHERE cycle_id = $1::uuid", cycle["id"])
    assert {r["area_code"] for r in items} == {"360702", "360703", "360721", "360722", "360723"}

    again = await client.post("/v1/cycles", json={"policy": "rural-reward-assistance", "period": "2026"},
                              headers=admin)
    assert again.status_code == 409 and again.json()["cycle"] == f"/v1/cycles/{cycle['id']}"
    own = await client.post(f"/v1/cycles/{cycle['id']}/approve", headers=tokens.headers(
        sub="maker", roles=["approver"], region="3607"))
    assert own.status_code == 403 and own.json()["detail_zh"]
    approved = await client.post(f"/v1/cycles/{cycle['id']}/approve", headers=approver)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["chunks"] == 2
    assert (await client.post(f"/v1/cycles/{cycle['id']}/approve", headers=approver)).status_code == 409

    await asyncio.sleep(1.0)  # the relay publishes the outbox
    events = await approved_events(nats_url, cycle["id"])
    assert sorted((e["data"]["chunk"], e["data"]["chunks"], len(e["data"]["lines"])) for e in events) == [
        (1, 2, 1000), (2, 2, 124)]
    first = next(e for e in events if e["data"]["chunk"] == 1)
    assert first["subject"] == f"{cycle['id']}/1" and first["type"] == "entitlements.cycle.approved"
    data = first["data"]
    assert {k: data[k] for k in ("policy_code", "policy_version", "period", "fund", "benefit_kind",
                                 "total_lines", "total_amount_fen", "approved_by")} == {
        "policy_code": "rural-reward-assistance", "policy_version": 1, "period": "2026", "fund": "FP-REWARD",
        "benefit_kind": "cash_yearly", "total_lines": 1124, "total_amount_fen": 96000 * 1124,
        "approved_by": "checker"}
    assert set(data["lines"][0]) == {"line_id", "subject_kind", "subject_id", "payee_person_id", "household_id",
                                     "region_code", "amount_fen"}
    published = {line["line_id"] for e in events for line in e["data"]["lines"]}
    assert published == {line["line_id"] for line in lines}

    # a later death in the registry does not change the frozen cycle; a re-run never doubles a line
    await fetch(url, "UPDATE person_facts SET death_date = '2025-12-01' WHERE person_id = $1::uuid",
                pid(TWO_DAUGHTERS, "dad"))
    assert await all_lines(client, cycle["id"], admin) == lines
    rerun = await client.post("/v1/cycles", json={"policy": "rural-reward-assistance", "period": "2026"},
                              headers=admin)
    assert rerun.status_code == 201 and rerun.json()["total_lines"] == 0
    count = await fetch(url, "SELECT count(*) FROM cycle_lines WHERE policy_code = 'rural-reward-assistance' "
                             "AND period = '2026'")
    assert count[0][0] == 1124


async def test_bad_periods_are_422_and_nothing_is_written(service, admin) -> None:
    client, url, _ = service
    for policy, period, word in (("rural-reward-assistance", "2011", "outside"),
                                 ("rural-reward-assistance", "2026-03", "by year"),
                                 ("special-assistance-bereaved", "2026", "by month"),
                                 ("rural-reward-assistance", "26", "period")):
        response = await client.post("/v1/cycles", json={"policy": policy, "period": period}, headers=admin)
        assert response.status_code == 422, response.text
        assert word in response.json()["detail"] and response.json()["detail_zh"]
    assert (await client.post("/v1/cycles", json={"policy": "nope", "period": "2026"},
                              headers=admin)).status_code == 404
    assert await fetch(url, "SELECT 1 FROM cycles WHERE period IN ('2011', '26')") == []


async def test_household_payee_is_the_head(service, admin) -> None:
    client, _, _ = service
    created = (await client.post("/v1/cycles", json={"policy": "only-child-parents-reward-fee",
                                                     "period": "2026-03"}, headers=admin)).json()
    lines = {line["subject_id"]: line for line in await all_lines(client, created["id"], admin)}
    assert set(lines) == {TEEN.id, TEEN_703.id}
    assert lines[TEEN.id]["subject_kind"] == "household" and lines[TEEN.id]["amount"] == 1000
    assert lines[TEEN.id]["payee_person_id"] == pid(TEEN, "dad")
    assert lines[TEEN_703.id]["payee_person_id"] == pid(TEEN_703, "dad")


async def test_two_workers_give_the_same_lines_as_one(service, admin, approver) -> None:
    client, url, app = service
    created = (await client.post("/v1/cycles", json={"policy": "special-assistance-bereaved", "period": "2026-07"},
                                 headers=admin)).json()
    one = await fetch(url, "SELECT subject_id, payee_person_id, amount, region_code FROM cycle_lines "
                           "WHERE cycle_id = $1::uuid ORDER BY subject_id", created["id"])
    assert [r["subject_id"] for r in one]  # the bereaved parents
    # evaluate the same cycle again with two concurrent workers, from scratch
    await fetch(url, "DELETE FROM cycle_lines WHERE cycle_id = $1::uuid; ", created["id"])
    await fetch(url, "UPDATE cycle_work_items SET status = 'pending' WHERE cycle_id = $1::uuid", created["id"])
    await fetch(url, "UPDATE cycles SET status = 'evaluating' WHERE id = $1::uuid", created["id"])
    db = Database(url)
    try:
        done = await asyncio.gather(cycles.run_work_items(db, created["id"], "w1"),
                                    cycles.run_work_items(db, created["id"], "w2"))
    finally:
        await db.engine.dispose()
    items = await fetch(url, "SELECT count(*) FROM cycle_work_items WHERE cycle_id = $1::uuid", created["id"])
    assert sum(done) == items[0][0]
    two = await fetch(url, "SELECT subject_id, payee_person_id, amount, region_code FROM cycle_lines "
                           "WHERE cycle_id = $1::uuid ORDER BY subject_id", created["id"])
    assert [tuple(r) for r in two] == [tuple(r) for r in one]
    assert (await client.get(f"/v1/cycles/{created['id']}", headers=admin)).json()["status"] == "ready"


async def test_manual_overrides_shape_the_cycle(service, admin) -> None:
    """An override to eligible adds a line at its amount; one to not eligible removes the line."""
    client, url, _ = service
    insert = ("INSERT INTO overrides (id, policy_code, subject_id, household_id, eligible, amount, reason, expires_on, "
              "decided_by) VALUES (gen_random_uuid(), 'rural-reward-assistance', $1::uuid, $2::uuid, $3, $4, "
              "'test', '2027-12-31', 'ap')")
    await fetch(url, insert, pid(ONE_CHILD, "mum"), ONE_CHILD.id, True, 50000)
    await fetch(url, insert, pid(ELDERS, "dad"), ELDERS.id, False, None)
    created = (await client.post("/v1/cycles", json={"policy": "rural-reward-assistance", "period": "2027"},
                                 headers=admin)).json()
    lines = {line["subject_id"]: line for line in await all_lines(client, created["id"], admin)}
    assert lines[pid(ONE_CHILD, "mum")]["amount"] == 50000  # 58, by override
    assert lines[pid(ONE_CHILD, "mum")]["payee_person_id"] == pid(ONE_CHILD, "mum")
    assert lines[pid(ONE_CHILD, "dad")]["amount"] == 96000  # 60 since 2026
    assert pid(ELDERS, "dad") not in lines and pid(ELDERS, "mum") in lines
    assert created["total_lines"] == len(lines) and created["total_amount"] == sum(x["amount"] for x in lines.values())


@pytest.mark.parametrize(("code", "amount"), [
    ("test-overflow-line", "9223372036854775000 + person.age"),  # one subject's amount overflows
    ("test-overflow-total", "4611686018427387904"),  # 2^62 each: every line fits, the total does not
])
async def test_a_policy_whose_amounts_overflow_fails_its_cycle_with_a_422(service, admin, approver, tokens,
                                                                          code: str, amount: str) -> None:
    """Issue 13: the batch path lets a 64-bit overflow raise; creating the cycle was a 500 and left it
    `evaluating` for ever, blocking the period. Now the cycle is `failed`, holds no line, blocks nothing."""
    client, url, _ = service
    drafter = tokens.headers(sub="drafter", roles=["admin"], region="3607")
    draft = await client.post("/v1/policies", headers=drafter, json={
        "code": code, "name": {"zh": "溢出", "en": "Overflow"}, "legal_basis": "测试〔2026〕9号",
        "jurisdiction": "3607", "effective_from": "2026-01-01", "subject": "person",
        "criteria": [{"expr": "person.is_parent", "label": {"zh": "父母", "en": "a parent"}}],
        "benefit": {"kind": "cash_once", "amount": amount, "fund": "FP-TEST"}})
    assert draft.status_code == 201, draft.text
    assert (await client.post(f"/v1/policies/{code}/versions/1/activate", headers=approver)).status_code == 200
    for _ in range(2):  # a failed cycle does not hold the period
        failed = await client.post("/v1/cycles", json={"policy": code, "period": "2026-04"}, headers=admin)
        assert failed.status_code == 422, failed.text
        assert failed.json()["type"].endswith("cycle-failed") and failed.json()["field"] == "policy"
        cycle = (await client.get(failed.json()["cycle"], headers=admin)).json()
        assert cycle["status"] == "failed"
        assert await all_lines(client, cycle["id"], admin) == []
        approve = await client.post(f"/v1/cycles/{cycle['id']}/approve", headers=approver)
        assert approve.status_code == 409
    assert await fetch(url, "SELECT 1 FROM cycle_lines WHERE policy_code = $1", code) == []
