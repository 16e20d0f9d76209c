"""Jurisdiction in relief (issue 13): the household, the applicant and the region of an application come
from the REAL registry, never from the client; every read answers only the caller's region (404 for one
record outside it, filtered lists)."""

import uuid

import pytest
from relief_support import COUNTY, VILLAGE, lines_for, publish_cycle, relief_settings, wait_for
from sqlalchemy import text

from carekit.testing.service import running
from relief.main import create_app

NEIGHBOUR = "360703"


@pytest.fixture
def relief(relief_and_registry):  # noqa: ANN001, ANN201 - households come from the real registry
    return relief_and_registry


@pytest.fixture
def staff(tokens) -> dict[str, dict[str, str]]:  # noqa: ANN001
    def h(role: str, sub: str, region: str = COUNTY) -> dict[str, str]:
        return tokens.headers(roles=[role], region=region, sub=sub)

    return {
        "cw": h("caseworker", "cw-1"),
        "fm": h("fund_manager", "fm-1"),
        "auditor": h("auditor", "au-1"),
        "approver": h("approver", "ap-1"),
        "cw_x": h("caseworker", "cw-x", NEIGHBOUR),
        "fm_x": h("fund_manager", "fm-x", NEIGHBOUR),
        "auditor_x": h("auditor", "au-x", NEIGHBOUR),
        "approver_x": h("approver", "ap-x", NEIGHBOUR),
    }


async def _open_fund(relief, fm: dict, code: str = "care_fund", amount: int = 1_000_000) -> None:  # noqa: ANN001
    body = {"code": code, "kind": "care_fund", "name_zh": "基金", "name_en": "Fund", "region": COUNTY}
    opened = await relief.post("/v1/funds", headers=fm, json=body)
    assert opened.status_code in (201, 409), opened.text
    r = await relief.post(f"/v1/funds/{code}/allocations", headers=fm, json={"amount_fen": amount, "document_no": "d"})
    assert r.status_code == 201, r.text


def _body(person: dict, **extra) -> dict:  # noqa: ANN003
    return {
        "household_id": person["household_id"],
        "applicant_person_id": person["id"],
        "reason_code": "accident",
        "amount_fen": 10_000,
    } | extra


async def _applications_by(relief, actor: str) -> int:  # noqa: ANN001
    async with relief.app.state.runtime.uow() as uow:
        query = text("SELECT count(*) FROM applications WHERE created_by = :a")
        return (await uow.session.execute(query, {"a": actor})).scalar_one()


def _problem_field(response) -> str | None:  # noqa: ANN001
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response.json().get("field")


async def test_the_region_of_an_application_is_the_registrys(relief, staff) -> None:  # noqa: ANN001
    await _open_fund(relief, staff["fm"])
    created = await relief.post("/v1/applications", headers=staff["cw"], json=_body(relief.people[0]))
    assert created.status_code == 201, created.text
    assert created.json()["region_code"] == VILLAGE


async def test_a_neighbouring_caseworker_cannot_apply_for_the_household(relief, staff) -> None:  # noqa: ANN001
    await _open_fund(relief, staff["fm"])
    person = relief.people[0]
    outside = await relief.post("/v1/applications", headers=staff["cw_x"], json=_body(person))
    assert outside.status_code == 404 and _problem_field(outside) == "household_id", outside.text
    # the region the client names is never taken: a body still sending one is refused, not ignored
    claimed = await relief.post(
        "/v1/applications", headers=staff["cw_x"], json=_body(person, region_code=NEIGHBOUR + "001001")
    )
    assert claimed.status_code == 422, claimed.text
    assert any("region_code" in e["field"] for e in claimed.json()["errors"]), claimed.text
    assert await _applications_by(relief, "cw-x") == 0


async def test_unknown_household_or_person_is_refused_naming_the_field(relief, staff) -> None:  # noqa: ANN001
    await _open_fund(relief, staff["fm"])
    first, second, dead = relief.people[0], relief.people[1], relief.people[-1]
    before = await _applications_by(relief, "cw-1")
    unknown = await relief.post(
        "/v1/applications", headers=staff["cw"], json=_body(first, household_id=str(uuid.uuid4()))
    )
    assert unknown.status_code == 404 and _problem_field(unknown) == "household_id", unknown.text
    for applicant in (str(uuid.uuid4()), second["id"], dead["id"]):
        household = dead["household_id"] if applicant == dead["id"] else first["household_id"]
        body = _body(first, household_id=household, applicant_person_id=applicant)
        r = await relief.post("/v1/applications", headers=staff["cw"], json=body)
        assert r.status_code == 422 and _problem_field(r) == "applicant_person_id", r.text
    assert await _applications_by(relief, "cw-1") == before


async def test_a_citizen_applies_only_for_their_own_household(relief, staff, tokens) -> None:  # noqa: ANN001
    await _open_fund(relief, staff["fm"])
    me, neighbour = relief.people[2], relief.people[3]
    citizen = tokens.headers(roles=["citizen"], sub=me["id"])
    elsewhere = await relief.post(
        "/v1/applications", headers=citizen, json=_body(me, household_id=neighbour["household_id"])
    )
    assert elsewhere.status_code == 404 and _problem_field(elsewhere) == "household_id", elsewhere.text
    own = await relief.post("/v1/applications", headers=citizen, json=_body(me))
    assert own.status_code == 201 and own.json()["region_code"] == VILLAGE, own.text
    mine = await relief.get("/v1/applications", headers=citizen)
    assert [a["id"] for a in mine.json()] == [own.json()["id"]]


async def test_no_registry_no_application(relief, staff, migrated_database, nats_url) -> None:  # noqa: ANN001
    url = await migrated_database("relief")
    app = create_app(relief_settings(url, nats_url, registry_url="http://127.0.0.1:9"))
    async with running(app) as client:
        client.app = app
        await _open_fund(client, staff["fm"])
        r = await client.post("/v1/applications", headers=staff["cw"], json=_body(relief.people[0]))
        assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json", r.text
        assert await _applications_by(client, "cw-1") == 0


async def test_the_neighbours_see_none_of_the_applications(relief, staff) -> None:  # noqa: ANN001
    await _open_fund(relief, staff["fm"])
    created = await relief.post("/v1/applications", headers=staff["cw"], json=_body(relief.people[4]))
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    assert (await relief.get(f"/v1/applications/{app_id}", headers=staff["approver_x"])).status_code == 404
    assert (await relief.get("/v1/applications", headers=staff["approver_x"])).json() == []
    inside = (await relief.get("/v1/applications", headers=staff["approver"])).json()
    assert app_id in [a["id"] for a in inside]


async def test_ledger_and_funds_of_a_county_are_its_own(relief, staff) -> None:  # noqa: ANN001
    await _open_fund(relief, staff["fm"], "FP-REWARD", 5_000)
    journal = await relief.get("/v1/ledger/accounts/fund:FP-REWARD/transfers", headers=staff["auditor"])
    assert journal.status_code == 200, journal.text
    allocation = journal.json()[0]
    budget = allocation["debit_account"]
    assert budget == f"income:budget:{COUNTY}"
    budget_journal = await relief.get(f"/v1/ledger/accounts/{budget}/transfers", headers=staff["auditor"])
    assert budget_journal.status_code == 200 and allocation["id"] in [t["id"] for t in budget_journal.json()]
    codes = {a["code"] for a in (await relief.get("/v1/ledger/accounts", headers=staff["auditor"])).json()}
    assert {"fund:FP-REWARD", budget} <= codes

    neighbour = staff["auditor_x"]
    assert (await relief.get("/v1/ledger/accounts", headers=neighbour)).json() == []
    for path in (
        "/v1/ledger/accounts/fund:FP-REWARD/transfers",
        f"/v1/ledger/accounts/{budget}/transfers",
        f"/v1/ledger/transfers/{allocation['id']}",
        "/v1/funds/FP-REWARD",
        "/v1/funds/FP-REWARD/donations",
        "/v1/funds/FP-REWARD/statement?from=2026-01-01&to=2026-12-31",
    ):
        r = await relief.get(path, headers=neighbour)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json", (path, r.text)
    assert (await relief.get("/v1/funds", headers=neighbour)).json() == []
    assert (await relief.get("/v1/reports/fund-balances", headers=neighbour)).json() == []
    invariant = (await relief.get("/v1/ledger/invariant", headers=neighbour)).json()
    assert invariant["accounts"] == 0 and invariant["credits_posted"] == 0, invariant


async def test_a_neighbouring_fund_manager_cannot_move_the_countys_money(relief, staff) -> None:  # noqa: ANN001
    await _open_fund(relief, staff["fm"], "guarded_fund", 5_000)
    await relief.post(
        "/v1/funds",
        headers=staff["fm_x"],
        json={"code": "their_fund", "kind": "care_fund", "name_zh": "基金", "name_en": "F", "region": NEIGHBOUR},
    )
    moved = await relief.post(
        "/v1/ledger/transfers",
        headers=staff["fm_x"],
        json={
            "id": str(uuid.uuid4()),
            "debit_account": "fund:guarded_fund",
            "credit_account": "fund:their_fund",
            "amount_fen": 5_000,
        },
    )
    assert moved.status_code == 422 and moved.json()["type"].endswith("unknown-account"), moved.text
    fund = (await relief.get("/v1/funds/guarded_fund", headers=staff["fm"])).json()
    assert fund["available_fen"] == 5_000


async def test_batches_and_their_payments_are_the_funds_regions(relief, staff, nats_url) -> None:  # noqa: ANN001
    await _open_fund(relief, staff["fm"], "batch_fund", 10_000_000)
    cycle = await publish_cycle(nats_url, lines_for(relief.people[:5], 3), fund="batch_fund", policy="jurisdiction")

    async def batch() -> dict | None:
        found = (await relief.get("/v1/batches", headers=staff["auditor"])).json()
        return next((b for b in found if b["cycle_id"] == cycle and b["status"] == "reserved"), None)

    batch_id = (await wait_for(batch))["id"]
    neighbour = staff["auditor_x"]
    assert (await relief.get("/v1/batches", headers=neighbour)).json() == []
    for path in (f"/v1/batches/{batch_id}", f"/v1/batches/{batch_id}/payments"):
        assert (await relief.get(path, headers=neighbour)).status_code == 404, path
    accounts = (await relief.get("/v1/ledger/accounts", headers=staff["auditor"])).json()
    assert f"expense:jurisdiction:{COUNTY}" in {a["code"] for a in accounts}


async def test_reconciliation_runs_are_their_runners_regions(relief, staff) -> None:  # noqa: ANN001
    result_file = (
        "H,GUANHUAI-RES,1,ref-1,1,100\r\nR,GHNOTOURS0001,bank-1,100,succeeded,,2026-12-01T10:00:00+08:00\r\nT,1,100\r\n"
    )
    run = await relief.post(
        "/v1/reconciliations/result-files",
        headers=staff["auditor"] | {"content-type": "text/csv"},
        content=result_file.encode(),
    )
    assert run.status_code == 201, run.text
    run_id = run.json()["id"]
    assert (await relief.get(f"/v1/reconciliations/{run_id}", headers=staff["auditor"])).status_code == 200
    assert (await relief.get(f"/v1/reconciliations/{run_id}", headers=staff["auditor_x"])).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/v1/applications?offset=100000000000000000000",
        "/v1/funds/care_fund/donations?offset=100000000000000000000",
        "/v1/ledger/accounts/fund:care_fund/transfers?after=100000000000000000000",
    ],
)
async def test_huge_numbers_are_a_clear_422(relief, staff, path: str) -> None:  # noqa: ANN001
    await _open_fund(relief, staff["fm"])
    r = await relief.get(path, headers=staff["auditor"])
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
