"""The `_sim` admin endpoints take JSON whatever Content-Type says: `curl -d '{…}'` (which labels its body
application/x-www-form-urlencoded) works as the README shows it, and a body that is not JSON says so."""

import httpx
import pytest

from simulators.payments.app import create_app as payments_app
from simulators.sms.app import create_app as sms_app
from simulators.testing import running_simulator

CURL_FORM = {"Content-Type": "application/x-www-form-urlencoded"}  # what `curl -d` sends


@pytest.mark.parametrize("factory", [payments_app, sms_app], ids=["payments", "sms"])
@pytest.mark.parametrize("headers", [CURL_FORM, {"Content-Type": "text/plain"}, {}], ids=["form", "text", "none"])
async def test_fault_settings_change_whatever_the_content_type(factory, headers: dict[str, str]) -> None:  # noqa: ANN001
    async with running_simulator(factory) as url, httpx.AsyncClient(base_url=url) as client:
        answer = await client.put("/_sim/config", content=b'{"failure_rate":0.05,"latency_ms":3}', headers=headers)
        assert answer.status_code == 200, answer.text
        config = (await client.get("/_sim/config")).json()
        assert (config["failure_rate"], config["latency_ms"]) == (0.05, 3)


async def test_a_reply_is_pushed_from_a_curl_form_body() -> None:
    async with running_simulator(sms_app) as url, httpx.AsyncClient(base_url=url) as client:
        body = '{"provider":"aliyun","phone":"+8613800000001","text":"退订"}'.encode()
        answer = await client.post("/_sim/inbound", content=body, headers=CURL_FORM)
        assert answer.status_code == 202, answer.text


async def test_a_merchant_is_set_from_a_curl_form_body() -> None:
    async with running_simulator(payments_app) as url, httpx.AsyncClient(base_url=url) as client:
        body = b'{"callback_url":"http://127.0.0.1:9/cb","secret":"s","batch_callbacks":false}'
        answer = await client.put("/_sim/merchants/m-1", content=body, headers=CURL_FORM)
        assert answer.status_code == 200, answer.text
        assert (await client.get("/_sim/merchants")).json()["m-1"]["callback_url"] == "http://127.0.0.1:9/cb"


@pytest.mark.parametrize("factory", [payments_app, sms_app], ids=["payments", "sms"])
async def test_a_body_that_is_not_json_is_refused_saying_so(factory) -> None:  # noqa: ANN001
    async with running_simulator(factory) as url, httpx.AsyncClient(base_url=url) as client:
        answer = await client.put("/_sim/config", content=b"failure_rate=0.05", headers=CURL_FORM)
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
        assert "not valid JSON" in answer.json()["detail"]
        assert "line 1, column 1" in answer.json()["detail"]


async def test_the_platform_facing_apis_keep_their_content_types() -> None:
    """Only `_sim` is lenient: the provider APIs the services call are checked as the real ones are."""
    async with running_simulator(payments_app) as url, httpx.AsyncClient(base_url=url) as client:
        body = b'{"end_to_end_ids":["x"]}'
        answer = await client.post(
            "/v1/payments/query", content=body, headers={**CURL_FORM, "X-Merchant-Id": "guanhuai-relief"}
        )
        assert answer.status_code == 422
