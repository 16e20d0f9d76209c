"""Tencent Cloud SMS (API 3.0, sms 2021-01-11): SendSms signed with TC3-HMAC-SHA256, up to 200 numbers
per call; status callbacks and reply callbacks in Tencent's JSON formats."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, Field, TypeAdapter

from notifications.adapters.sms.base import DeliveryReceipt, InboundSms, SmsRequest, SmsSubmitResult
from notifications.adapters.sms.common import (
    ChinaTime,
    NationCode,
    Phone,
    Reference,
    WholeNumber,
    items_of,
    national_number,
    to_e164,
)
from notifications.adapters.sms.signing import tc3_authorization

VERSION = "2021-01-11"
SERVICE = "sms"
MAX_NUMBERS = 200
CONTENT_TYPE = "application/json; charset=utf-8"
RETRYABLE_PREFIXES = (
    "RequestLimitExceeded",
    "InternalError",
    "LimitExceeded.DeliveryFrequencyLimit",
    "AuthFailure.SignatureExpire",
    "FailedOperation.FailResolvePacket",
)


LAST_SECOND = 253402300799  # 9999-12-31 23:59:59 UTC, the last moment a datetime holds


class StatusItem(BaseModel):
    """One item of Tencent Cloud's SMS status callback (delivery receipt)."""

    user_receive_time: ChinaTime
    nationcode: NationCode | None = None
    mobile: Phone
    report_status: Literal["SUCCESS", "FAIL"]
    errmsg: str | None = None
    description: str | None = None
    sid: Reference | None = Field(default=None, description="The SerialNo SendSms answered")


class ReplyItem(BaseModel):
    """Tencent Cloud's SMS reply callback."""

    extend: str | None = None
    mobile: Phone
    nationcode: NationCode | None = None
    sign: str | None = None
    text: str = Field(max_length=1000)
    time: WholeNumber = Field(ge=0, le=LAST_SECOND, description="Unix time, seconds")


STATUSES = TypeAdapter(list[StatusItem])
REPLIES = TypeAdapter(list[ReplyItem])


def is_retryable(code: str) -> bool:
    return code.startswith(RETRYABLE_PREFIXES) or code in {"timeout", "network"}


class TencentSms:
    name = "tencent"

    def __init__(
        self,
        endpoint: str,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        client: httpx.AsyncClient | None = None,
        *,
        region: str = "ap-guangzhou",
        concurrency: int = 16,
        timeout_s: float = 5.0,
    ) -> None:
        self.endpoint = endpoint
        self.secret_id = secret_id
        self._secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.region = region
        self.timeout_s = timeout_s
        self._client = client or httpx.AsyncClient()
        self._slots = asyncio.Semaphore(concurrency)

    async def send(self, requests: Sequence[SmsRequest]) -> list[SmsSubmitResult]:
        """Messages with the same signature, template and values share one SendSms (≤ 200 numbers, each
        number once per call); results come back in request order."""
        results: dict[int, SmsSubmitResult] = {}
        calls: list[list[tuple[int, SmsRequest]]] = []
        open_calls: dict[tuple, list[tuple[int, SmsRequest]]] = {}
        for index, request in enumerate(requests):
            if national_number(request.phone) is None:
                results[index] = _refused(request, "InvalidParameterValue.IncorrectPhoneNumber")
                continue
            key = (request.sign_name, request.template_id, tuple(template_values(request)))
            call = open_calls.get(key)
            if call is None or len(call) >= MAX_NUMBERS or any(r.phone == request.phone for _, r in call):
                call = open_calls[key] = []
                calls.append(call)
            call.append((index, request))
        for outcome in await asyncio.gather(*(self._call(call) for call in calls)):
            results.update(outcome)
        return [results[i] for i in range(len(requests))]

    def signed_request(self, body: dict[str, Any], timestamp: int) -> tuple[bytes, dict[str, str]]:
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        url = urlsplit(self.endpoint)
        signed = {"content-type": CONTENT_TYPE, "host": url.netloc}
        authorization = tc3_authorization(
            self.secret_id, self._secret_key, SERVICE, timestamp, "POST", url.path or "/", signed, payload, url.query
        )
        headers = {
            "Authorization": authorization,
            "Content-Type": CONTENT_TYPE,
            "Host": url.netloc,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": VERSION,
            "X-TC-Region": self.region,
        }
        return payload, headers

    async def _call(self, call: list[tuple[int, SmsRequest]]) -> dict[int, SmsSubmitResult]:
        first = call[0][1]
        body = {
            "PhoneNumberSet": [r.phone for _, r in call],
            "SmsSdkAppId": self.sdk_app_id,
            "SignName": first.sign_name,
            "TemplateId": first.template_id,
            "TemplateParamSet": template_values(first),
            "SessionContext": first.message_id if len(call) == 1 else "",
        }
        payload, headers = self.signed_request(body, int(time.time()))
        async with self._slots:
            try:
                response = await self._client.post(
                    self.endpoint, content=payload, headers=headers, timeout=self.timeout_s
                )
                answer = response.json()["Response"]
            except httpx.TimeoutException:
                return {i: _refused(r, "timeout") for i, r in call}
            except httpx.TransportError:
                return {i: _refused(r, "network") for i, r in call}
            except (ValueError, KeyError, TypeError):
                return {i: _refused(r, f"http_{response.status_code}", response.status_code >= 500) for i, r in call}
        if "Error" in answer:
            code = str(answer["Error"].get("Code"))
            return {i: _refused(r, code) for i, r in call}
        by_phone = {s.get("PhoneNumber"): s for s in answer.get("SendStatusSet", [])}
        return {i: _result(r, by_phone.get(r.phone)) for i, r in call}

    def parse_receipts(self, body: bytes) -> list[DeliveryReceipt]:
        """Status callback: one item or an array of `StatusItem`. Tencent carries no SessionContext here: match
        on sid (the SerialNo)."""
        return [
            DeliveryReceipt(
                provider=self.name,
                provider_message_id=item.sid or None,
                message_id=None,
                phone=to_e164(item.mobile, item.nationcode or "86"),
                delivered=item.report_status == "SUCCESS",
                error_code=None if item.report_status == "SUCCESS" else (item.errmsg or "FAIL"),
                reported_at=item.user_receive_time,
            )
            for item in items_of(STATUSES, body)
        ]

    def parse_inbound(self, body: bytes) -> list[InboundSms]:
        """Reply callback: one `ReplyItem` (or an array of them)."""
        return [
            InboundSms(
                self.name,
                to_e164(item.mobile, item.nationcode or "86"),
                item.text,
                datetime.fromtimestamp(item.time, UTC),
            )
            for item in items_of(REPLIES, body)
        ]


def template_values(request: SmsRequest) -> list[str]:
    order = request.param_order or list(request.params)
    return [str(request.params[name]) for name in order]


def _result(request: SmsRequest, status: dict[str, Any] | None) -> SmsSubmitResult:
    if status is None:
        return _refused(request, "missing_status")
    code = str(status.get("Code"))
    if code == "Ok":
        return SmsSubmitResult(request.message_id, True, status.get("SerialNo"), None, False)
    return _refused(request, code)


def _refused(request: SmsRequest, code: str, retryable: bool | None = None) -> SmsSubmitResult:
    return SmsSubmitResult(
        request.message_id, False, None, code, is_retryable(code) if retryable is None else retryable
    )
