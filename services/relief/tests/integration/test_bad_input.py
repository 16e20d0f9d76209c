"""Bad input to relief gets a clear 4xx problem+json, never a 5xx (issue 13)."""

import pytest
from relief_support import COUNTY

RESULT_LINE = "R,{e2e},bank-1,100,succeeded,,2026-12-01T10:00:00+08:00"


def _result_file(e2e: str) -> bytes:
    return f"H,GUANHUAI-RES,1,ref-1,1,100\r\n{RESULT_LINE.format(e2e=e2e)}\r\nT,1,100\r\n".encode()


@pytest.fixture
def auditor(tokens) -> dict[str, str]:  # noqa: ANN001
    return tokens.headers(roles=["auditor"], region=COUNTY, sub="au-1") | {"content-type": "text/csv"}


@pytest.mark.parametrize(
    "content",
    [
        _result_file("GH\x00NUL"),  # PostgreSQL text cannot hold a NUL
        _result_file("GH" + "X" * 5000),
        b"H,GUANHUAI-RES,1,ref\x00,0,0\r\nT,0,0\r\n",
    ],
    ids=["nul-in-id", "long-id", "nul-in-header"],
)
async def test_a_bad_result_file_is_a_422(relief, auditor, content: bytes) -> None:  # noqa: ANN001
    r = await relief.post("/v1/reconciliations/result-files", headers=auditor, content=content)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text


async def test_a_callback_signature_that_is_no_hex_is_a_401(relief) -> None:  # noqa: ANN001
    r = await relief.post(
        "/v1/provider-callbacks/simulator",
        headers={"X-Sim-Signature": "sha256=ü".encode()},
        content=b"{}",
    )
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json", r.text


@pytest.mark.parametrize("content", [b"\r9y\xc3\xad\xc2\xae", b""], ids=["lone-cr", "empty"])
async def test_a_file_that_is_no_result_file_is_a_422_bad_result_file(relief, auditor, content: bytes) -> None:  # noqa: ANN001
    r = await relief.post("/v1/reconciliations/result-files", headers=auditor, content=content)
    assert r.status_code == 422 and r.json()["type"].endswith("bad-result-file"), r.text


async def test_the_result_files_path_is_no_run_id(relief, auditor) -> None:  # noqa: ANN001
    r = await relief.get("/v1/reconciliations/result-files", headers=auditor)
    assert r.status_code == 405 and r.headers["allow"] == "POST", (r.status_code, r.headers.get("allow"))


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/reconciliations", {"day": 0}),
        ("/v1/funds/care_fund/allocations", {"amount_fen": 1, "document_no": "d", "allocated_on": 0}),
        (
            "/v1/funds/care_fund/donations",
            {"donor_kind": "person", "donor_name": "王", "amount_fen": 1, "received_on": 0},
        ),
    ],
)
async def test_a_number_is_no_date(relief, tokens, path: str, body: dict) -> None:  # noqa: ANN001
    headers = tokens.headers(roles=["fund_manager"], region=COUNTY, sub="fm-1")
    r = await relief.post(path, headers=headers, json=body)
    assert r.status_code == 422 and r.json()["type"].endswith("validation-error"), r.text


@pytest.mark.parametrize("digits", ["6", "9", "12"])
async def test_every_region_level_the_report_promises_is_taken(relief, auditor, digits: str) -> None:  # noqa: ANN001
    r = await relief.get(f"/v1/reports/disbursed?group_by=region&region_digits={digits}", headers=auditor)
    assert r.status_code == 200, r.text


async def test_a_persons_donation_with_a_uscc_is_refused_naming_it(relief, tokens) -> None:  # noqa: ANN001
    manager = tokens.headers(roles=["fund_manager"], region=COUNTY, sub="fm-1")
    fund = {"code": "gift_fund", "kind": "care_fund", "name_zh": "基金", "name_en": "Fund", "region": COUNTY}
    assert (await relief.post("/v1/funds", headers=manager, json=fund)).status_code in (201, 409)
    body = {"donor_kind": "person", "donor_name": "王", "amount_fen": 100, "uscc": "91350100M000100Y43"}
    r = await relief.post("/v1/funds/gift_fund/donations", headers=manager, json=body)
    assert r.status_code == 422 and r.json()["type"].endswith("uscc-not-for-persons"), r.text
    assert "uscc" in r.json()["detail"]


async def test_apply_is_true_or_false(relief, tokens) -> None:  # noqa: ANN001
    manager = tokens.headers(roles=["fund_manager"], region=COUNTY, sub="fm-1")
    r = await relief.post("/v1/reconciliations", headers=manager, json={"apply": 0})
    assert r.status_code == 422 and r.json()["type"].endswith("validation-error"), r.text
