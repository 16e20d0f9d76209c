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
