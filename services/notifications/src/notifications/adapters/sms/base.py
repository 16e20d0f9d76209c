"""SMS provider interface (contract C5). Notifications codes against this, never a concrete provider."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class SmsRequest:
    message_id: str  # our id; echoed as OutId (Aliyun) / SessionContext (Tencent)
    phone: str  # E.164 "+8613812345678"
    sign_name: str  # "XX县卫健委" (without 【】)
    template_id: str  # the provider's template id
    params: Mapping[str, str]  # named (Aliyun TemplateParam JSON); Tencent gets the values in template order
    param_order: Sequence[str] = ()


@dataclass(frozen=True)
class SmsSubmitResult:
    message_id: str
    accepted: bool
    provider_message_id: str | None
    error_code: str | None
    retryable: bool


@dataclass(frozen=True)
class DeliveryReceipt:
    provider: str
    provider_message_id: str | None
    message_id: str | None
    phone: str
    delivered: bool
    error_code: str | None
    reported_at: datetime


@dataclass(frozen=True)
class InboundSms:
    provider: str
    phone: str
    text: str
    received_at: datetime


class SmsProvider(Protocol):
    name: str  # "aliyun" | "tencent"

    async def send(self, requests: Sequence[SmsRequest]) -> list[SmsSubmitResult]: ...

    def parse_receipts(self, body: bytes) -> list[DeliveryReceipt]: ...

    def parse_inbound(self, body: bytes) -> list[InboundSms]: ...
