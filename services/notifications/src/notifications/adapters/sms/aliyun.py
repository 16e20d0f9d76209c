"""Alibaba Cloud SMS (dysmsapi 2017-05-25): SendSms, RPC style signed per signature v1; receipts in the
SmsReport JSON format; replies in the SmsUp JSON format."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
from pydantic import BaseModel, Field, StrictStr, TypeAdapter

from notifications.adapters.sms.base import DeliveryReceipt, InboundSms, SmsRequest, SmsSubmitResult
from notifications.adapters.sms.common import (
    ChinaTime,
    Phone,
    Reference,
    WholeNumber,
    items_of,
    national_number,
    to_e164,
)
from notifications.adapters.sms.signing import aliyun_signature

VERSION = "2017-05-25"
MAX_BATCH = 100  # SendBatchSms numbers per call
# Codes after which the same message may succeed later (flow control, provider-side faults).
RETRYABLE = frozenset(
    {
        "Throttling",
        "Throttling.User",
        "Throttling.Api",
        "isv.BUSINESS_LIMIT_CONTROL",
        "isp.SYSTEM_ERROR",
        "isp.GATEWAY_ERROR",
        "ServiceUnavailable",
        "InternalError",
        "SignatureNonceUsed",
        "InvalidTimeStamp.Expired",
    }
)


class SmsReportItem(BaseModel):
    """One delivery receipt of Alibaba Cloud's SmsReport push."""

    phone_number: Phone
    send_time: ChinaTime | None = None
    report_time: ChinaTime
    success: bool = Field(strict=True)
    err_code: str | None = None
    err_msg: str | None = None
    sms_size: str | None = None
    biz_id: Reference | None = None
    out_id: Reference | None = Field(default=None, description="Our message id (OutId), when sent one by one")


class SmsUpItem(BaseModel):
    """One reply of Alibaba Cloud's SmsUp push."""

    phone_number: Phone
    send_time: ChinaTime
    content: str = Field(max_length=1000)
    sign_name: str | None = None
    dest_code: str | None = None
    sequence_id: WholeNumber | StrictStr | None = Field(default=None, description="Not used")


REPORTS = TypeAdapter(list[SmsReportItem])
REPLIES = TypeAdapter(list[SmsUpItem])


def is_retryable(code: str) -> bool:
    return code in RETRYABLE or code.startswith(("isp.", "Throttling", "ServiceUnavailable", "InternalError"))


class AliyunSms:
    name = "aliyun"

    def __init__(
        self,
        endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        client: httpx.AsyncClient | None = None,
        *,
        region_id: str = "cn-hangzhou",
        concurrency: int = 32,
        timeout_s: float = 5.0,
        batch_size: int = 1,
    ) -> None:
        self.endpoint = endpoint
        self.access_key_id = access_key_id
        self._secret = access_key_secret
        self.region_id = region_id
        self.timeout_s = timeout_s
        self._client = client or httpx.AsyncClient()
        self._slots = asyncio.Semaphore(concurrency)
        self.batch_size = max(1, min(batch_size, MAX_BATCH))

    async def send(self, requests: Sequence[SmsRequest]) -> list[SmsSubmitResult]:
        """Results in request order. With batch_size 1 (default): one SendSms per message, OutId = message_id,
        so receipts name the message. With batch_size > 1: SendBatchSms for messages sharing a template
        (≤ 100 numbers, each once per call): receipts then carry only biz_id + phone_number, so match
        receipts on (provider_message_id, phone)."""
        if self.batch_size == 1:
            return list(await asyncio.gather(*(self._send_one(r) for r in requests)))
        results: dict[int, SmsSubmitResult] = {}
        batches: list[list[tuple[int, SmsRequest]]] = []
        open_batches: dict[str, list[tuple[int, SmsRequest]]] = {}
        for index, request in enumerate(requests):
            if national_number(request.phone) is None:
                results[index] = _refused(request, "isv.MOBILE_NUMBER_ILLEGAL")
                continue
            batch = open_batches.get(request.template_id)
            if batch is None or len(batch) >= self.batch_size or any(r.phone == request.phone for _, r in batch):
                batch = open_batches[request.template_id] = []
                batches.append(batch)
            batch.append((index, request))
        for outcome in await asyncio.gather(*(self._send_batch(b) for b in batches)):
            results.update(outcome)
        return [results[i] for i in range(len(requests))]

    def signed_params(
        self,
        action_params: dict[str, str],
        *,
        nonce: str | None = None,
        timestamp: str | None = None,
        method: str = "POST",
    ) -> dict[str, str]:
        params = {
            "AccessKeyId": self.access_key_id,
            "Format": "JSON",
            "RegionId": self.region_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce or str(uuid.uuid4()),
            "SignatureVersion": "1.0",
            "Timestamp": timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": VERSION,
            **action_params,
        }
        params["Signature"] = aliyun_signature(method, params, self._secret)
        return params

    async def _send_one(self, request: SmsRequest) -> SmsSubmitResult:
        number = national_number(request.phone)
        if number is None:
            return _refused(request, "isv.MOBILE_NUMBER_ILLEGAL")
        outcome = await self._call(send_sms_params(request, number))
        return _result(request, *outcome)

    async def _send_batch(self, batch: list[tuple[int, SmsRequest]]) -> dict[int, SmsSubmitResult]:
        requests = [r for _, r in batch]
        outcome = await self._call(
            {
                "Action": "SendBatchSms",
                "PhoneNumberJson": _json([national_number(r.phone) for r in requests]),
                "SignNameJson": _json([r.sign_name for r in requests]),
                "TemplateCode": requests[0].template_id,
                "TemplateParamJson": _json([dict(r.params) for r in requests]),
            }
        )
        return {i: _result(r, *outcome) for i, r in batch}

    async def _call(self, action_params: dict[str, str]) -> tuple[str, str | None, bool]:
        """(code, BizId, retryable) of one signed RPC call."""
        params = self.signed_params(action_params)
        async with self._slots:
            try:
                response = await self._client.post(self.endpoint, data=params, timeout=self.timeout_s)
            except httpx.TimeoutException:
                return "timeout", None, True
            except httpx.TransportError:
                return "network", None, True
        try:
            answer = response.json()
        except ValueError:
            return f"http_{response.status_code}", None, response.status_code >= 500
        code = str(answer.get("Code", f"http_{response.status_code}"))
        return code, answer.get("BizId"), is_retryable(code) or response.status_code >= 500

    def parse_receipts(self, body: bytes) -> list[DeliveryReceipt]:
        """SmsReport: one item or an array of `SmsReportItem`; CallbackInvalid names the fields that are not."""
        return [
            DeliveryReceipt(
                provider=self.name,
                provider_message_id=item.biz_id or None,
                message_id=item.out_id or None,
                phone=to_e164(item.phone_number),
                delivered=item.success,
                error_code=None if item.success else (item.err_code or "UNKNOWN"),
                reported_at=item.report_time,
            )
            for item in items_of(REPORTS, body)
        ]

    def parse_inbound(self, body: bytes) -> list[InboundSms]:
        """SmsUp: one item or an array of `SmsUpItem`."""
        return [
            InboundSms(self.name, to_e164(item.phone_number), item.content, item.send_time)
            for item in items_of(REPLIES, body)
        ]


def send_sms_params(request: SmsRequest, number: str) -> dict[str, str]:
    return {
        "Action": "SendSms",
        "PhoneNumbers": number,
        "SignName": request.sign_name,
        "TemplateCode": request.template_id,
        "TemplateParam": _json(dict(request.params)),
        "OutId": request.message_id,
    }


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _result(request: SmsRequest, code: str, biz_id: str | None, retryable: bool) -> SmsSubmitResult:
    if code == "OK":
        return SmsSubmitResult(request.message_id, True, biz_id, None, False)
    return _refused(request, code, retryable)


def _refused(request: SmsRequest, code: str, retryable: bool = False) -> SmsSubmitResult:
    return SmsSubmitResult(request.message_id, False, None, code, retryable)
