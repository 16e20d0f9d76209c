"""Funds and income: opening funds, allocations, donations with USCC and receipts, statements."""

from datetime import date

import pytest
from relief_support import COUNTY
from stdnum.cn import uscc


def valid_uscc() -> str:
    body = "91360702MA35ABCD0"[:17]
    return body + uscc.calc_check_digit(body)


@pytest.fixture
def manager(tokens) -> dict[str, str]:  # noqa: ANN001
    return tokens.headers(roles=["fund_manager"], region=COUNTY, sub="fm-2")


async def test_fund_income_and_statement(relief, manager, tokens) -> None:  # noqa: ANN001
    created = await relief.post(
        "/v1/funds",
        headers=manager,
        json={
            "code": "care_fund",
            "kind": "care_fund",
            "name_zh": "生育关怀基金",
            "name_en": "Care fund",
            "region": COUNTY,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["available_fen"] == 0
    again = await relief.post("/v1/funds", headers=manager, json=created.json() | {})
    assert again.status_code in (409, 422)

    allocation = await relief.post(
        "/v1/funds/care_fund/allocations",
        headers=manager,
        json={"amount_fen": 1_000_000, "document_no": "章财社〔2026〕12号"},
    )
    assert allocation.status_code == 201, allocation.text
    org = await relief.post(
        "/v1/funds/care_fund/donations",
        headers=manager,
        json={"donor_kind": "organisation", "donor_name": "某某公司", "uscc": valid_uscc(), "amount_fen": 50_000},
    )
    assert org.status_code == 201, org.text
    person = await relief.post(
        "/v1/funds/care_fund/donations",
        headers=manager,
        json={"donor_kind": "person", "donor_name": "张三", "amount_fen": 20_000},
    )
    assert person.status_code == 201
    receipts = {org.json()["receipt_no"], person.json()["receipt_no"]}
    assert len(receipts) == 2 and all(r.startswith("JZ") for r in receipts)

    fund = (await relief.get("/v1/funds/care_fund", headers=manager)).json()
    assert fund["available_fen"] == 1_070_000
    today = date.today().isoformat()
    statement = await relief.get(
        "/v1/funds/care_fund/statement", headers=manager, params={"from": "2000-01-01", "to": "2100-01-01"}
    )
    assert statement.status_code == 200, statement.text
    body = statement.json()
    assert (body["opening_fen"], body["credits_fen"], body["closing_fen"]) == (0, 1_070_000, 1_070_000)
    assert [line["code"] for line in body["lines"]] == ["allocation", "donation", "donation"]
    later = await relief.get(
        "/v1/funds/care_fund/statement", headers=manager, params={"from": "2100-01-01", "to": "2100-12-31"}
    )
    assert later.json()["opening_fen"] == 1_070_000 and later.json()["lines"] == []
    assert today


async def test_bad_income_is_refused_and_ledger_unchanged(relief, manager, tokens) -> None:  # noqa: ANN001
    await relief.post(
        "/v1/funds",
        headers=manager,
        json={"code": "welfare", "kind": "public_welfare", "name_zh": "公益金", "name_en": "Welfare", "region": COUNTY},
    )
    auditor = tokens.headers(roles=["auditor"], region=COUNTY)
    before = (await relief.get("/v1/ledger/accounts", headers=auditor)).json()
    bad = [
        {
            "donor_kind": "organisation",
            "donor_name": "X",
            "uscc": valid_uscc()[:-1] + "0" if not valid_uscc().endswith("0") else valid_uscc()[:-1] + "1",
            "amount_fen": 100,
        },
        {"donor_kind": "organisation", "donor_name": "X", "amount_fen": 100},
        {"donor_kind": "person", "donor_name": "X", "amount_fen": 0},
        {"donor_kind": "person", "donor_name": "X", "amount_fen": -100},
    ]
    for body in bad:
        response = await relief.post("/v1/funds/welfare/donations", headers=manager, json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
    outside = tokens.headers(roles=["fund_manager"], region="360703", sub="fm-x")
    assert (await relief.get("/v1/funds/welfare", headers=outside)).status_code == 404
    assert (await relief.get("/v1/ledger/accounts", headers=auditor)).json() == before


async def test_funds_named_as_the_policy_library_names_them(relief, manager) -> None:  # noqa: ANN001
    body = {"kind": "care_fund", "name_zh": "奖励扶助资金", "name_en": "Reward assistance", "region": COUNTY}
    opened = await relief.post("/v1/funds", headers=manager, json=body | {"code": "FP-REWARD"})
    assert opened.status_code == 201, opened.text
    funded = await relief.post(
        "/v1/funds/FP-REWARD/allocations",
        headers=manager,
        json={"amount_fen": 500_000, "document_no": "章财社〔2026〕13号"},
    )
    assert funded.status_code == 201, funded.text
    for bad in ("fp reward", "-FP", "基金", "F"):
        refused = await relief.post("/v1/funds", headers=manager, json=body | {"code": bad})
        assert refused.status_code == 422, bad
