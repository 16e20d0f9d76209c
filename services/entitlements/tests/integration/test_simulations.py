"""Simulations: counts and cost by county against the active version, and nothing written."""

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from entitlements_support import ONE_CHILD, TWO_DAUGHTERS, TWO_SONS, household, load_rows
from registry_events import fetch
from sqlalchemy.ext.asyncio import create_async_engine

from carekit.db.engine import sqlalchemy_url
from carekit.testing.service import running
from entitlements.main import create_app
from entitlements.settings import EntitlementsSettings

ELDERS_703 = dataclasses.replace(TWO_DAUGHTERS, name="sim-elders-703", division="360703002001")
FAMILIES = (ONE_CHILD, TWO_DAUGHTERS, TWO_SONS, ELDERS_703)
TABLES = ("policy_versions", "cycles", "cycle_lines", "cycle_work_items", "decisions", "outbox", "audit_log",
          "person_facts")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(migrated_database, nats_url) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    url = await migrated_database("entitlements")
    engine = create_async_engine(sqlalchemy_url(url))
    async with engine.begin() as conn:
        await load_rows(conn, [row for family in FAMILIES for row in household(family)])
    await engine.dispose()
    app = create_app(EntitlementsSettings(database_url=url, nats_url=nats_url, environment="test"))
    async with running(app) as client:
        yield client, url


@pytest.fixture
def admin(tokens) -> dict[str, str]:
    return tokens.headers(sub="planner", roles=["admin"], region="3607")


async def counts(url: str) -> dict[str, int]:
    return {t: (await fetch(url, f"SELECT count(*) FROM {t}"))[0][0] for t in TABLES}  # noqa: S608


async def test_lowering_the_age_adds_the_only_child_parents_and_writes_nothing(service, admin) -> None:
    client, url = service
    await client.get("/v1/policies", headers=admin)  # the library is seeded
    before = await counts(url)
    body = {"as_of": "2026-06-01", "change": {"code": "rural-reward-assistance", "amount": "120000", "criteria": [
        {"expr": "person.is_parent && person.alive", "label": {"zh": "父母在世", "en": "a living parent"}},
        {"expr": 'household.hukou_type == "rural"', "label": {"zh": "农业户口", "en": "rural hukou"}},
        {"expr": "household.only_child", "label": {"zh": "独生子女户", "en": "one-child household"}},
        {"expr": "person.age >= 55", "label": {"zh": "年满55周岁", "en": "55 or over"}}]}}
    response = await client.post("/v1/simulations", json=body, headers=admin)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["compared_with_version"] == 1
    # now: both two-daughter families' parents (4) and the only-child father (60 since 2026-03-15) at 96000;
    # simulated: the only-child parents (60 and 58) at 120000 — the mother is new, the two-daughter
    # parents no longer eligible
    assert result["totals"] == {"eligible": 2, "cost": 240000, "current_eligible": 5, "current_cost": 5 * 96000,
                                "newly_eligible": 1, "no_longer_eligible": 4}
    by_county = {c["county"]: c for c in result["counties"]}
    assert by_county["360703"] == {"county": "360703", "eligible": 0, "cost": 0, "current_eligible": 2,
                                   "current_cost": 192000, "newly_eligible": 0, "no_longer_eligible": 2}
    assert await counts(url) == before


async def test_an_unsaved_draft_and_bad_input(service, admin) -> None:
    client, url = service
    before = await counts(url)
    draft = {"code": "sim-new-bonus", "name": {"zh": "新奖励", "en": "New bonus"}, "legal_basis": "测试",
             "effective_from": "2026-01-01", "subject": "household",
             "criteria": [{"expr": "household.two_daughters", "label": {"zh": "二女户", "en": "two daughters"}}],
             "benefit": {"kind": "cash_once", "amount": "50000", "fund": "FP-REWARD"}}
    result = (await client.post("/v1/simulations", json={"as_of": "2026-06-01", "policy": draft},
                                headers=admin)).json()
    assert result["compared_with_version"] is None
    assert result["totals"]["eligible"] == 2 and result["totals"]["cost"] == 100000
    assert result["totals"]["newly_eligible"] == 2
    bad = draft | {"criteria": [{"expr": "household.two_daughterz", "label": {"zh": "x", "en": "x"}}]}
    refused = await client.post("/v1/simulations", json={"as_of": "2026-06-01", "policy": bad}, headers=admin)
    assert refused.status_code == 422 and refused.json()["position"]["column"] == 11
    both = await client.post("/v1/simulations", json={"as_of": "2026-06-01", "policy": draft,
                                                      "change": {"code": "x"}}, headers=admin)
    assert both.status_code == 422
    early = await client.post("/v1/simulations", json={"as_of": "2025-06-01", "policy": draft}, headers=admin)
    assert early.status_code == 422
    assert await counts(url) == before


async def test_an_integer_overflow_in_a_formula_is_a_422_not_a_500(service, admin) -> None:
    """Issue 13: the SQL path lets a 64-bit overflow raise (loud, never a silent difference from CEL); the
    simulation answered it with a 500."""
    client, _ = service
    response = await client.post("/v1/simulations", headers=admin, json={
        "as_of": "2026-06-01", "change": {"code": "rural-reward-assistance",
                                          "amount": "9223372036854775807 + person.age"}})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "policy" and "64 bits" in response.json()["detail"]
