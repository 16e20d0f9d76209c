"""The SMS gateway simulator's own checks: it refuses what the real providers refuse."""

import hashlib
import json
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from simulators.sms.app import create_app
from simulators.sms.signing import aliyun_signature, tc3_canonical_request, tc3_signature
from simulators.testing import running_simulator

SECRET = "dev-aliyun-key-secret"


def aliyun_params(**extra: str) -> dict[str, str]:
    params = {
        "AccessKeyId": "dev-aliyun-key-id",
        "Action": "SendSms",
        "Format": "JSON",
        "RegionId": "cn-hangzhou",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": str(uuid.uuid4()),
        "SignatureVersion": "1.0",
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": "2017-05-25",
        "PhoneNumbers": "13812345678",
        "SignName": "XX县卫健委",
        "TemplateCode": "SMS_1",
        "TemplateParam": '{"name":"张三"}',
        "OutId": "o-1",
        **extra,
    }
    return {**params, "Signature": aliyun_signature("GET", params, SECRET)}


def test_the_simulator_verifies_with_the_documented_examples() -> None:
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert aliyun_signature("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    payload = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    headers = {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com"}
    canonical = tc3_canonical_request("POST", "/", "", headers, ["content-type", "host"], payload)
    assert tc3_signature("Gu5t9xGARNpq86cd98joQYCN3*******", "cvm", 1551113065, canonical) == (
        "2019-02-25/cvm/tc3_request",
        "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c",
    )


async def test_aliyun_get_requests_nonce_reuse_and_stale_timestamps() -> None:
    async with running_simulator(create_app) as url, httpx.AsyncClient(base_url=url) as client:
        params = aliyun_params()
        ok = (await client.get("/aliyun/", params=params)).json()
        assert ok["Code"] == "OK" and ok["BizId"]
        assert (await client.get("/aliyun/", params=params)).json()["Code"] == "SignatureNonceUsed"
        stale = aliyun_params(Timestamp="2016-02-23T12:46:24Z")
        assert (await client.get("/aliyun/", params=stale)).json()["Code"] == "InvalidTimeStamp.Expired"
        tampered = {**aliyun_params(), "PhoneNumbers": "13900000000"}
        assert (await client.get("/aliyun/", params=tampered)).json()["Code"] == "SignatureDoesNotMatch"
        illegal = aliyun_params(PhoneNumbers="12345")
        assert (await client.get("/aliyun/", params=illegal)).json()["Code"] == "isv.MOBILE_NUMBER_ILLEGAL"
        unknown = aliyun_params(AccessKeyId="someone")
        assert (await client.get("/aliyun/", params=unknown)).status_code == 404
        messages = (await client.get("/_sim/messages")).json()
        assert messages["total"] == 1 and messages["messages"][0]["message_id"] == "o-1"


async def test_tencent_requires_a_valid_authorization() -> None:
    async with running_simulator(create_app) as url, httpx.AsyncClient(base_url=url) as client:
        body = json.dumps(
            {
                "PhoneNumberSet": ["+8613812345678"],
                "SmsSdkAppId": "1400000001",
                "TemplateId": "1",
                "SignName": "XX县卫健委",
            }
        ).encode()
        host = url.removeprefix("http://")
        timestamp = int(time.time())
        headers = {"content-type": "application/json; charset=utf-8", "host": host}
        canonical = tc3_canonical_request("POST", "/tencent/", "", headers, ["content-type", "host"], body)
        scope, signature = tc3_signature("dev-tencent-secret-key", "sms", timestamp, canonical)
        authorization = (
            f"TC3-HMAC-SHA256 Credential=AKIDdevtencentsecretid/{scope}, "
            f"SignedHeaders=content-type;host, Signature={signature}"
        )
        send = {
            "Content-Type": headers["content-type"],
            "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11",
            "X-TC-Timestamp": str(timestamp),
            "Authorization": authorization,
        }
        ok = (await client.post("/tencent/", content=body, headers=send)).json()["Response"]
        assert ok["SendStatusSet"][0]["Code"] == "Ok"
        bad = (await client.post("/tencent/", content=body + b" ", headers=send)).json()["Response"]
        assert bad["Error"]["Code"] == "AuthFailure.SignatureFailure"
        none = (await client.post("/tencent/", content=body, headers={**send, "Authorization": "x"})).json()
        assert none["Response"]["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
        assert hashlib.sha256(body).hexdigest() in canonical


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
async def test_inbound_needs_a_mainland_mobile(provider: str) -> None:
    async with running_simulator(create_app) as url, httpx.AsyncClient(base_url=url) as client:
        bad = await client.post("/_sim/inbound", json={"provider": provider, "phone": "+1415555", "text": "T"})
        assert bad.status_code == 422
        assert (await client.put("/_sim/config", json={"nope": 1})).status_code == 422
        urls = await client.put("/_sim/urls", json={f"{provider}_inbound_url": "http://127.0.0.1:9/in"})
        assert urls.json()[f"{provider}_inbound_url"] == "http://127.0.0.1:9/in"
