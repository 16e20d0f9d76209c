"""AliyunSms and TencentSms against the SMS gateway simulator over real HTTP."""

import json
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from notifications.adapters.sms import SmsRequest
from notifications.adapters.sms.aliyun import AliyunSms
from notifications.adapters.sms.tencent import TencentSms
from simulators.sms.app import create_app
from simulators.testing import Receiver, recording_receiver, running_simulator

KEYS = {
    "aliyun_access_key_id": "it-aliyun-id",
    "aliyun_access_key_secret": "it-aliyun-secret",
    "tencent_secret_id": "AKIDitsecret",
    "tencent_secret_key": "it-tencent-key",
    "tencent_sdk_app_id": "1400009999",
}


@asynccontextmanager
async def gateway(**config: object) -> AsyncIterator[tuple[str, Receiver, httpx.AsyncClient]]:
    """The simulator pushing receipts and replies to a recording receiver (standing in for notifications)."""
    async with recording_receiver() as notifications:
        urls = {
            f"{p}_{k}_url": f"{notifications.url}/{p}/{k}"
            for p in ("aliyun", "tencent")
            for k in ("receipts", "inbound")
        }
        async with (
            running_simulator(create_app, **{**KEYS, **urls, "receipt_delay_ms": 20, **config}) as url,
            httpx.AsyncClient() as client,
        ):
            yield url, notifications, client


def aliyun(url: str, client: httpx.AsyncClient, secret: str = "it-aliyun-secret", **options: object) -> AliyunSms:
    return AliyunSms(url + "/aliyun", "it-aliyun-id", secret, client, **options)


def tencent(url: str, client: httpx.AsyncClient, key: str = "it-tencent-key", **options: object) -> TencentSms:
    return TencentSms(url + "/tencent", "AKIDitsecret", key, "1400009999", client, **options)


def sms(n: int, phone: str | None = None, **params: str) -> SmsRequest:
    return SmsRequest(
        f"msg-{n}",
        phone or f"+86138{n:08d}",
        "XX县卫健委",
        "SMS_100",
        params or {"name": f"户{n}"},
        tuple(params or {"name": ""}),
    )


def bodies(receiver: Receiver, path: str) -> list:
    return [json.loads(r.body) for r in receiver.requests if r.path == path]


async def test_aliyun_send_then_receipts_match_by_out_id() -> None:
    async with gateway() as (url, notifications, client):
        provider = aliyun(url, client)
        results = await provider.send([sms(1), sms(2), sms(3, amount="960.00")])
        assert [(r.message_id, r.accepted, r.error_code) for r in results] == [
            ("msg-1", True, None),
            ("msg-2", True, None),
            ("msg-3", True, None),
        ]
        assert len({r.provider_message_id for r in results}) == 3
        seen = (await client.get(url + "/_sim/messages", params={"provider": "aliyun"})).json()
        assert {(m["message_id"], m["phone"], m["sign_name"]) for m in seen["messages"]} == {
            ("msg-1", "+8613800000001", "XX县卫健委"),
            ("msg-2", "+8613800000002", "XX县卫健委"),
            ("msg-3", "+8613800000003", "XX县卫健委"),
        }
        await notifications.wait_for(1)
        receipts = [r for req in notifications.requests for r in provider.parse_receipts(req.body)]
        while len(receipts) < 3:
            await notifications.wait_for(len(notifications.requests) + 1)
            receipts = [r for req in notifications.requests for r in provider.parse_receipts(req.body)]
        by_message = {r.message_id: r for r in receipts}
        assert set(by_message) == {"msg-1", "msg-2", "msg-3"}
        assert all(r.delivered and r.error_code is None for r in receipts)
        assert by_message["msg-1"].provider_message_id == results[0].provider_message_id
        assert by_message["msg-1"].phone == "+8613800000001"


async def test_tencent_groups_numbers_and_receipts_match_by_serial_no() -> None:
    async with gateway(undelivered_rate=1.0) as (url, notifications, client):
        provider = tencent(url, client)
        same = [sms(n, notice="发放通知") for n in range(1, 6)]
        results = await provider.send([*same, sms(9, notice="另一条")])
        assert all(r.accepted for r in results) and [r.message_id for r in results] == [
            "msg-1",
            "msg-2",
            "msg-3",
            "msg-4",
            "msg-5",
            "msg-9",
        ]
        stats = (await client.get(url + "/_sim/stats")).json()
        assert stats["messages"] == 6
        seen = (await client.get(url + "/_sim/messages")).json()["messages"]
        assert {m["message_id"] for m in seen} == {None, "msg-9"}  # SessionContext only for a call of one
        assert {tuple(m["params"]) for m in seen} == {("发放通知",), ("另一条",)}
        await notifications.wait_for(1)
        receipts = []
        while len(receipts) < 6:
            await notifications.wait_for(len(notifications.requests) + (1 if receipts else 0))
            receipts = [r for req in notifications.requests for r in provider.parse_receipts(req.body)]
        assert {r.provider_message_id for r in receipts} == {r.provider_message_id for r in results}
        assert all(not r.delivered and r.error_code == "MI:0013" for r in receipts)


async def test_bad_credentials_are_refused_and_not_retryable() -> None:
    async with gateway() as (url, _, client):
        [refused] = await aliyun(url, client, secret="wrong").send([sms(1)])
        assert (refused.accepted, refused.error_code, refused.retryable) == (False, "SignatureDoesNotMatch", False)
        [refused] = await tencent(url, client, key="wrong").send([sms(1)])
        assert (refused.accepted, refused.error_code, refused.retryable) == (
            False,
            "AuthFailure.SignatureFailure",
            False,
        )
        assert (await client.get(url + "/_sim/stats")).json()["messages"] == 0


async def test_rate_limits_answer_the_providers_throttling_codes() -> None:
    async with gateway(aliyun_rate_limit=4, tencent_rate_limit=3) as (url, _, client):
        started = time.monotonic()
        results = await aliyun(url, client, concurrency=1).send([sms(n) for n in range(10)])
        refilled = math.ceil((time.monotonic() - started) * 4)  # the bucket refills at 4 a second
        assert 4 <= sum(r.accepted for r in results) <= 4 + refilled < 10
        assert {(r.error_code, r.retryable) for r in results if not r.accepted} == {("Throttling.User", True)}
        started = time.monotonic()
        results = await tencent(url, client).send([sms(n, notice=str(n)) for n in range(6)])
        refilled = math.ceil((time.monotonic() - started) * 3)
        assert 3 <= sum(r.accepted for r in results) <= 3 + refilled < 6
        assert {(r.error_code, r.retryable) for r in results if not r.accepted} == {("RequestLimitExceeded", True)}


async def test_failures_blacklist_and_bad_numbers() -> None:
    async with gateway(failure_rate=1.0) as (url, _, client):
        [failed] = await aliyun(url, client).send([sms(1)])
        assert (failed.error_code, failed.retryable) == ("isp.SYSTEM_ERROR", True)
        [failed] = await tencent(url, client).send([sms(1)])
        assert (failed.error_code, failed.retryable) == ("InternalError.Timeout", True)
        await client.put(url + "/_sim/config", json={"failure_rate": 0, "blocked_numbers": ["+8613800000002"]})
        [blocked] = await aliyun(url, client).send([sms(2)])
        assert (blocked.error_code, blocked.retryable) == ("isv.BLACK_KEY_CONTROL_LIMIT", False)
        [blocked] = await tencent(url, client).send([sms(2)])
        assert (blocked.error_code, blocked.retryable) == ("FailedOperation.PhoneNumberInBlacklist", False)
        for provider in (aliyun(url, client), tencent(url, client)):
            [bad] = await provider.send([sms(3, phone="+1415555")])
            assert not bad.accepted and not bad.retryable
        assert (await client.get(url + "/_sim/stats")).json()["messages"] == 0


async def test_a_slow_gateway_is_a_retryable_timeout() -> None:
    async with gateway(latency_ms=1000) as (url, _, client):
        [slow] = await aliyun(url, client, timeout_s=0.2).send([sms(1)])
        assert (slow.error_code, slow.retryable) == ("timeout", True)
        [slow] = await tencent(url, client, timeout_s=0.2).send([sms(1)])
        assert (slow.error_code, slow.retryable) == ("timeout", True)


async def test_inbound_replies_are_pushed_in_each_providers_format() -> None:
    async with gateway() as (url, notifications, client):
        for provider, text in (("aliyun", "退订"), ("tencent", "5")):
            pushed = await client.post(
                url + "/_sim/inbound", json={"provider": provider, "phone": "+8613800000001", "text": text}
            )
            assert pushed.status_code == 202, pushed.text
        await notifications.wait_for(2)
        [aliyun_body] = [r.body for r in notifications.requests if r.path == "/aliyun/inbound"]
        [tencent_body] = [r.body for r in notifications.requests if r.path == "/tencent/inbound"]
        assert isinstance(json.loads(aliyun_body), list) and isinstance(json.loads(tencent_body), dict)
        [reply] = aliyun(url, client).parse_inbound(aliyun_body)
        assert (reply.provider, reply.phone, reply.text) == ("aliyun", "+8613800000001", "退订")
        [reply] = tencent(url, client).parse_inbound(tencent_body)
        assert (reply.provider, reply.phone, reply.text) == ("tencent", "+8613800000001", "5")


async def test_aliyun_batch_mode_uses_send_batch_sms_and_receipts_match_by_biz_id_and_phone() -> None:
    async with gateway() as (url, notifications, client):
        provider = aliyun(url, client, batch_size=100)
        requests = [sms(n) for n in range(150)]
        results = await provider.send(requests)
        assert all(r.accepted for r in results) and [r.message_id for r in results] == [r.message_id for r in requests]
        assert len({r.provider_message_id for r in results}) == 2  # two SendBatchSms calls
        sent = {(r.provider_message_id, q.phone): q.message_id for r, q in zip(results, requests, strict=True)}
        receipts = []
        while len(receipts) < 150:
            await notifications.wait_for(len(notifications.requests) + 1)
            receipts = [r for req in notifications.requests for r in provider.parse_receipts(req.body)]
        assert {sent[(r.provider_message_id, r.phone)] for r in receipts} == {q.message_id for q in requests}
        assert {r.message_id for r in receipts} == {None}
