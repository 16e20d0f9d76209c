"""Who sees what in the entitlements (issue 13), on families registered through the REAL registry and
projected from its events: three households — one registered in 360702, one in the neighbouring county
360703, and a migrant one registered in 360702 that lives in 360703 — each with an only son of 15 (the
exam bonus points are his). A partner answers only inside its remit; cycles, policies, simulations and
appeals of one county are invisible to the next."""

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date

import httpx
import pytest
import pytest_asyncio
from registry_events import fetch, wait_for
from stdnum.cn import ric

from carekit.auth.principal import Principal
from carekit.devstack.catalogue import service_app
from carekit.testing.service import running
from entitlements.main import create_app
from entitlements.service.decisions import today_in_china
from entitlements.settings import EntitlementsSettings

HOME, NEIGHBOUR = "360702001001", "360703000000"
EXAM = "exam-bonus-points"
UNKNOWN_ID = "110101199001011234"
_serial = itertools.count(1)


def resident_id(birth: date, *, female: bool) -> str:
    body = f"360702{birth:%Y%m%d}{next(_serial) * 2 + (0 if female else 1):03d}"
    return body + ric.calc_check_digit(body + "0")


def years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years, day=min(day.day, 28))


@dataclass
class Family:
    division: str
    residence: str | None = None
    ids: dict[str, str] = field(default_factory=dict)  # person id -> ID number
    people: dict[str, str] = field(default_factory=dict)  # dad, mum, son -> person id


@dataclass
class World:
    registry: httpx.AsyncClient
    entitlements: httpx.AsyncClient
    url: str
    home: Family
    neighbour: Family
    migrant: Family


async def register(client: httpx.AsyncClient, headers: dict[str, str], family: Family) -> Family:
    today = today_in_china()
    home = await client.post("/v1/households", headers=headers, json={
        "division_code": family.division, "residence_division_code": family.residence, "hukou_type": "rural"})
    assert home.status_code == 201, home.text
    for key, relation, years, female in (("dad", "head", 45, False), ("mum", "spouse", 44, True),
                                         ("son", "child", 15, False)):
        birth = years_before(today, years)
        parents = {"mother_id": family.people["mum"], "father_id": family.people["dad"]} if key == "son" else {}
        number = resident_id(birth, female=female)
        created = await client.post("/v1/persons", headers=headers, json={
            "household_id": home.json()["id"], "name": "测试" + key, "relation": relation, "id_number": number,
            **parents})
        assert created.status_code == 201, created.text
        family.people[key] = created.json()["id"]
        family.ids[key] = number
    return family


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(migrated_database, nats_url, tokens) -> AsyncIterator[World]:
    registry_url = await migrated_database("registry")
    url = await migrated_database("entitlements")
    registry = service_app("registry", database_url=registry_url, nats_url=nats_url, environment="test",
                           outbox_poll_seconds=0.2)
    entitlements = create_app(EntitlementsSettings(database_url=url, nats_url=nats_url, environment="test",
                                                   outbox_poll_seconds=0.2, consumer_backoff_seconds=0.05))
    province = tokens.headers(roles=["caseworker"], region="36", sub="cw-province")
    async with running(entitlements) as ent, running(registry) as reg:
        families = [await register(reg, province, f) for f in (
            Family(HOME), Family(NEIGHBOUR), Family(HOME, residence=NEIGHBOUR))]

        async def projected() -> bool:
            rows = await fetch(url, "SELECT count(*) FROM person_facts WHERE household_facts_as_of IS NOT NULL")
            return rows[0][0] == 9
        await wait_for(projected, timeout=20, what="the nine persons projected from the registry's events")
        yield World(reg, ent, url, *families)


def partner(tokens, region: str | None) -> dict[str, str]:
    return tokens.headers(roles=["partner"], region=region, agency="county-hospital", sub="county-hospital")


async def check(world: World, headers: dict[str, str], number: str) -> httpx.Response:
    return await world.entitlements.get("/v1/eligibility", params={"policy": EXAM, "id_number": number},
                                        headers=headers)


def same_answer(a: httpx.Response, b: httpx.Response) -> bool:
    return (a.status_code, a.headers["content-type"], a.json()) == (b.status_code, b.headers["content-type"],
                                                                     b.json())


async def test_a_partner_answers_only_inside_its_remit(world, tokens) -> None:
    """The defect: a 360703 partner got eligible=true for a 360702 person's ID number. Residence counts
    (migrants are served where they live): the migrant son is inside both counties' remits."""
    sons = {name: f.ids["son"] for name, f in (("home", world.home), ("neighbour", world.neighbour),
                                                ("migrant", world.migrant))}
    inside = {"360703": {"neighbour", "migrant"}, "360702": {"home", "migrant"}, "36": set(sons)}
    for remit, expected in inside.items():
        headers = partner(tokens, remit)
        unknown = await check(world, headers, UNKNOWN_ID)
        assert unknown.status_code == 200 and unknown.json() == {"policy": EXAM, "eligible": False,
                                                                 "valid_until": None}
        for name, number in sons.items():
            answer = await check(world, headers, number)
            if name in expected:
                assert answer.status_code == 200 and answer.json()["eligible"] is True, (remit, name, answer.text)
            else:
                assert same_answer(answer, unknown), (remit, name, answer.text)


async def test_a_partner_token_without_a_region_learns_nothing(world, tokens) -> None:
    """Defensive: the kit refuses such a token; were one let through, it is answered as for an unknown
    number without even looking the number up."""
    headers = partner(tokens, None)
    for number in (UNKNOWN_ID, world.home.ids["son"]):
        assert (await check(world, headers, number)).status_code == 401
    from entitlements.api.entitlements import check_eligibility
    from entitlements.events import library

    regionless = Principal(sub="county-hospital", roles=frozenset({"partner"}), agency="county-hospital")
    answer = await check_eligibility(regionless, session=None, library=library(), vault=None,  # type: ignore[arg-type]
                                     today=today_in_china(), policy=EXAM, id_number=world.home.ids["son"])
    assert answer.model_dump() == {"policy": EXAM, "eligible": False, "valid_until": None}


async def test_person_entitlements_follow_hukou_or_residence(world, tokens) -> None:
    neighbour = tokens.headers(roles=["caseworker"], region="360703", sub="cw-703")
    for family, status in ((world.neighbour, 200), (world.migrant, 200), (world.home, 404)):
        answer = await world.entitlements.get(f"/v1/persons/{family.people['son']}/entitlements", headers=neighbour)
        assert answer.status_code == status, answer.text


async def test_appeals_are_seen_and_decided_only_in_the_persons_region(world, tokens) -> None:
    filer = tokens.headers(roles=["caseworker"], region="360702", sub="cw-702")
    filed = await world.entitlements.post("/v1/appeals", headers=filer, json={
        "person_id": world.home.people["dad"], "policy": "rural-reward-assistance", "reason": "年龄登记有误"})
    assert filed.status_code == 201, filed.text
    appeal = filed.json()["id"]
    for roles in (["auditor"], ["approver"]):
        outsider = tokens.headers(roles=roles, region="360703", sub="outsider")
        assert (await world.entitlements.get(f"/v1/appeals/{appeal}", headers=outsider)).status_code == 404
    decided = await world.entitlements.post(f"/v1/appeals/{appeal}/decision", json={
        "outcome": "refuse", "reason": "x"}, headers=tokens.headers(roles=["approver"], region="360703"))
    assert decided.status_code == 404
    insider = tokens.headers(roles=["auditor"], region="360702", sub="auditor-702")
    assert (await world.entitlements.get(f"/v1/appeals/{appeal}", headers=insider)).status_code == 200


async def test_a_cycle_belongs_to_the_area_it_was_created_for(world, tokens) -> None:
    """A county's staff never see a cycle of a wider area (its lines hold other counties' families), and a
    county's open cycle does not block — nor reveal itself to — the next county."""
    year = str(today_in_china().year)
    county = tokens.headers(roles=["admin"], region="360702", sub="admin-702")
    created = await world.entitlements.post("/v1/cycles", json={"policy": EXAM, "period": year}, headers=county)
    assert created.status_code == 201, created.text
    ours = created.json()
    assert ours["region"] == "360702" and ours["total_lines"] == 2  # the home son and the migrant son (hukou)

    neighbour_admin = tokens.headers(roles=["admin"], region="360703", sub="admin-703")
    theirs = await world.entitlements.post("/v1/cycles", json={"policy": EXAM, "period": year},
                                           headers=neighbour_admin)
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["region"] == "360703" and theirs.json()["total_lines"] == 1

    province = tokens.headers(roles=["admin"], region="36", sub="admin-36")
    wide = await world.entitlements.post("/v1/cycles", json={"policy": EXAM, "period": f"{year}-02"},
                                         headers=province)
    assert wide.status_code == 201, wide.text
    assert wide.json()["region"] == "36" and wide.json()["total_lines"] == 3
    blocked = await world.entitlements.post("/v1/cycles", json={"policy": EXAM, "period": f"{year}-02"},
                                            headers=neighbour_admin)
    assert blocked.status_code == 409 and "cycle" not in blocked.json()  # no link to a cycle they cannot read

    for cycle, region in ((ours["id"], "360703"), (wide.json()["id"], "360703"), (wide.json()["id"], "360702")):
        for roles in (["auditor"], ["approver"], ["admin"], ["fund_manager"]):
            outsider = tokens.headers(roles=roles, region=region, sub="outsider")
            for path in ("", "/summary", "/lines"):
                answer = await world.entitlements.get(f"/v1/cycles/{cycle}{path}", headers=outsider)
                assert answer.status_code == 404, (cycle, region, roles, path, answer.text)
        approve = await world.entitlements.post(f"/v1/cycles/{cycle}/approve",
                                                headers=tokens.headers(roles=["approver"], region=region))
        assert approve.status_code == 404
    insider = tokens.headers(roles=["auditor"], region="36", sub="auditor-36")
    assert (await world.entitlements.get(f"/v1/cycles/{wide.json()['id']}/lines", headers=insider)).status_code == 200


DRAFT = {
    "code": "county-visit-702", "name": {"zh": "走访", "en": "Visit"}, "legal_basis": "章贡〔2026〕1号",
    "jurisdiction": "360702", "effective_from": "2026-01-01", "subject": "household",
    "criteria": [{"expr": "household.only_child", "label": {"zh": "独生子女家庭", "en": "only-child family"}}],
    "benefit": {"kind": "in_kind_service"},
}


async def test_a_countys_policy_is_invisible_and_unchangeable_next_door(world, tokens) -> None:
    drafter = tokens.headers(roles=["admin"], region="360702", sub="admin-702")
    drafted = await world.entitlements.post("/v1/policies", json=DRAFT, headers=drafter)
    assert drafted.status_code == 201, drafted.text
    path = f"/v1/policies/{DRAFT['code']}/versions/1"
    neighbour = tokens.headers(roles=["admin", "approver", "auditor"], region="360703", sub="staff-703")
    assert DRAFT["code"] not in {p["code"] for p in (await world.entitlements.get("/v1/policies",
                                                                                   headers=neighbour)).json()}
    assert (await world.entitlements.get(path, headers=neighbour)).status_code == 404
    assert (await world.entitlements.post(f"{path}/activate", headers=neighbour)).status_code == 404
    simulated = await world.entitlements.post("/v1/simulations", headers=neighbour, json={
        "as_of": "2026-06-01", "draft": {"code": DRAFT["code"], "version": 1}})
    assert simulated.status_code == 404
    province = tokens.headers(roles=["auditor"], region="36", sub="auditor-36")
    assert (await world.entitlements.get(path, headers=province)).status_code == 200
    county = (await world.entitlements.get("/v1/policies", headers=drafter)).json()
    assert {"rural-reward-assistance", DRAFT["code"]} <= {p["code"] for p in county}  # national ones too


async def test_callers_without_a_region_draft_and_simulate_nothing(world, tokens) -> None:
    nowhere = tokens.headers(roles=["admin", "approver"], sub="no-region")
    drafted = await world.entitlements.post("/v1/policies", json=DRAFT | {"code": "nowhere-visit"}, headers=nowhere)
    assert drafted.status_code == 403
    simulated = await world.entitlements.post("/v1/simulations", headers=nowhere, json={
        "as_of": "2026-06-01", "change": {"code": EXAM}})
    assert simulated.status_code == 403
    cycle = await world.entitlements.post("/v1/cycles", json={"policy": EXAM, "period": "2026-03"}, headers=nowhere)
    assert cycle.status_code == 403
    assert (await world.entitlements.get("/v1/policies", headers=nowhere)).json() == []


@pytest.mark.parametrize("action", ["retire", "activate"])
async def test_a_county_approver_cannot_change_a_national_policy(world, tokens, action: str) -> None:
    """Before issue 13 a county approver retired a national policy for the whole country."""
    county = tokens.headers(roles=["approver"], region="360702", sub="approver-702")
    answer = await world.entitlements.post(f"/v1/policies/spring-festival-visit/versions/1/{action}", headers=county)
    assert answer.status_code == 403, answer.text
    state = await fetch(world.url, "SELECT status FROM policy_versions WHERE code = 'spring-festival-visit'")
    assert [r[0] for r in state] == ["active"]
