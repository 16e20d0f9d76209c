"""The read API: the facts catalogue, a person's explained entitlements, the partners' check."""

import dataclasses
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
import pytest_asyncio
from entitlements_support import BEREAVED, ONE_CHILD, SMALL, household, load_rows, pid
from sqlalchemy.ext.asyncio import create_async_engine

from carekit.db.engine import sqlalchemy_url
from carekit.pii import build_vault
from carekit.testing.service import running
from entitlements.domain.facts_catalogue import CATALOGUE
from entitlements.main import create_app
from entitlements.settings import EntitlementsSettings

ID_DAD = "36070219660315001X"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def client(migrated_database, nats_url) -> AsyncIterator[httpx.AsyncClient]:
    url = await migrated_database("entitlements")
    settings = EntitlementsSettings(database_url=url, nats_url=nats_url, environment="test")
    app = create_app(settings)
    # the registry indexes ID numbers with the platform-wide key: the same vault, the same index
    index = build_vault(settings).index(ID_DAD.strip().upper(), "id_number")
    rows = [dataclasses.replace(r, id_number_index=index) if r.person_id == pid(ONE_CHILD, "dad") else r
            for family in (ONE_CHILD, BEREAVED, SMALL) for r in household(family)]
    engine = create_async_engine(sqlalchemy_url(url))
    async with engine.begin() as conn:
        await load_rows(conn, rows)
    await engine.dispose()
    async with running(app) as client:
        yield client


@pytest.fixture
def caseworker(tokens) -> dict[str, str]:
    return tokens.headers(roles=["caseworker"], region="360702")


@pytest.fixture
def partner(tokens) -> dict[str, str]:
    return tokens.headers(roles=["partner"], region="360702", agency="hospital-1")


async def test_facts_catalogue_for_any_authenticated_caller(client: httpx.AsyncClient, tokens) -> None:
    response = await client.get("/v1/facts", headers=tokens.headers(roles=["citizen"]))
    assert response.status_code == 200
    facts = response.json()
    assert [f["name"] for f in facts] == [f.name for f in CATALOGUE]
    age = next(f for f in facts if f["name"] == "person.age")
    assert age["type"] == "int" and age["meaning"]["zh"] and age["example"] == 62 and age["date_dependent"]
    assert (await client.get("/v1/facts")).status_code == 401


async def test_a_fathers_entitlements_are_explained(client: httpx.AsyncClient, caseworker) -> None:
    response = await client.get(f"/v1/persons/{pid(ONE_CHILD, 'dad')}/entitlements?as_of=2026-03-14",
                                headers=caseworker)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["facts_known"] and body["as_of"] == "2026-03-14"
    by_code = {e["policy"]: e for e in body["entitlements"]}
    assert "childcare-subsidy-2025" in by_code  # in force: listed, not eligible
    reward = by_code["rural-reward-assistance"]
    assert not reward["eligible"] and reward["amount"] is None
    failed = [c for c in reward["criteria"] if not c["passed"]]
    assert any("59岁" in c["text"]["zh"] and c["text"]["zh"].startswith("不符合") for c in failed), failed
    assert any("59 years" in c["text"]["en"] for c in failed)
    assert all(c["facts"] for c in reward["criteria"])
    on_birthday = (await client.get(f"/v1/persons/{pid(ONE_CHILD, 'dad')}/entitlements?as_of=2026-03-15",
                                    headers=caseworker)).json()
    reward = next(e for e in on_birthday["entitlements"] if e["policy"] == "rural-reward-assistance")
    assert reward["eligible"] and reward["amount"] == 96000 and reward["unit"] == "fen"
    assert all(c["passed"] and c["text"]["zh"].startswith("符合") for c in reward["criteria"])


async def test_outside_the_region_or_unknown_is_404(client: httpx.AsyncClient, tokens) -> None:
    other = tokens.headers(roles=["caseworker"], region="360703")
    response = await client.get(f"/v1/persons/{pid(ONE_CHILD, 'dad')}/entitlements", headers=other)
    assert response.status_code == 404
    unknown = await client.get("/v1/persons/00000000-0000-0000-0000-000000000000/entitlements",
                               headers=tokens.headers(roles=["auditor"], region="36"))
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == response.json()["detail"]
    partner = await client.get(f"/v1/persons/{pid(ONE_CHILD, 'dad')}/entitlements",
                               headers=tokens.headers(roles=["partner"], region="360702", agency="hospital-1"))
    assert partner.status_code == 403


async def test_partner_check_discloses_only_eligibility(client: httpx.AsyncClient, partner) -> None:
    response = await client.get("/v1/eligibility", params={"policy": "fee-waiver-benefit-card",
                                                            "id_number": f" {ID_DAD.lower()} "}, headers=partner)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"policy", "eligible", "valid_until"}
    assert body["eligible"] is True and date.fromisoformat(body["valid_until"]) > date.today()
    not_eligible = await client.get("/v1/eligibility", params={"policy": "special-assistance-bereaved",
                                                                "id_number": ID_DAD}, headers=partner)
    unknown = await client.get("/v1/eligibility", params={"policy": "special-assistance-bereaved",
                                                           "id_number": "110101199001011234"}, headers=partner)
    assert not_eligible.json() == unknown.json() == {"policy": "special-assistance-bereaved", "eligible": False,
                                                     "valid_until": None}


async def test_partner_check_needs_a_partner_and_a_known_policy(client: httpx.AsyncClient, partner,
                                                               caseworker) -> None:
    params = {"policy": "fee-waiver-benefit-card", "id_number": ID_DAD}
    assert (await client.get("/v1/eligibility", params=params, headers=caseworker)).status_code == 403
    params["policy"] = "no-such-policy"
    assert (await client.get("/v1/eligibility", params=params, headers=partner)).status_code == 404


def test_valid_until_stops_the_day_before_eligibility_ends() -> None:
    from entitlements.events import library
    from entitlements.service.checks import valid_until

    insurance = next(c for c in library() if c.policy.code == "only-child-insurance")
    boy = next(r for r in household(SMALL) if r.person_id == pid(SMALL, "boy"))
    assert valid_until(insurance, boy, date(2026, 1, 10)) == date(2026, 3, 31)  # turns 7 on 2026-04-01
