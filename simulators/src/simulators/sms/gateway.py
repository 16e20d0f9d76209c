"""What the SMS gateway holds: received messages, per-provider rate buckets, due receipts, and the
pusher that delivers receipts and inbound replies to the configured URLs."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from simulators.common import CHINA, draws, iso, utcnow
from simulators.sms.settings import SmsFaultConfig, SmsSimSettings

log = logging.getLogger("simulators.sms")
CHINA_MOBILE = re.compile(r"^(?:\+?86|0086)?(1[3-9]\d{9})$")
PROVIDERS = ("aliyun", "tencent")


def e164(number: str) -> str | None:
    """A mainland mobile number in E.164, or None when the number is not one."""
    match = CHINA_MOBILE.match(number.strip())
    return f"+86{match.group(1)}" if match else None


def china_time(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Message:
    provider: str
    provider_message_id: str
    message_id: str | None  # OutId / SessionContext as given by the sender
    phone: str
    sign_name: str
    template_id: str
    params: dict[str, str] | list[str]
    received_at: datetime
    delivered: bool | None = None
    receipt_code: str | None = None
    reported_at: datetime | None = None

    def public(self) -> dict:
        return {
            "provider": self.provider,
            "provider_message_id": self.provider_message_id,
            "message_id": self.message_id,
            "phone": self.phone,
            "sign_name": self.sign_name,
            "template_id": self.template_id,
            "params": self.params,
            "received_at": iso(self.received_at),
            "delivered": self.delivered,
            "receipt_code": self.receipt_code,
        }


class RateBucket:
    """Token bucket of `rate` messages per second with one second of burst."""

    def __init__(self) -> None:
        self.tokens = 0.0
        self.at = time.monotonic()

    def take(self, count: int, rate: int) -> bool:
        if rate <= 0:
            return True
        now = time.monotonic()
        self.tokens = min(float(rate), self.tokens + (now - self.at) * rate)
        self.at = now
        if self.tokens + 1e-9 < count:
            return False
        self.tokens -= count
        return True


@dataclass
class Gateway:
    settings: SmsSimSettings
    faults: SmsFaultConfig
    messages: list[Message] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    buckets: dict[str, RateBucket] = field(default_factory=lambda: {p: RateBucket() for p in PROVIDERS})
    nonces: dict[str, float] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        for bucket in self.buckets.values():
            bucket.tokens = 0.0
        self.outbox: dict[str, asyncio.Queue[dict]] = {}
        self.client: httpx.AsyncClient | None = None
        self._workers: list[asyncio.Task] = []
        self._in_flight = 0
        self._generation = 0
        self._attempts: Counter[str] = Counter()

    # ---- lifecycle
    def start(self) -> None:
        self.client = httpx.AsyncClient(timeout=10)
        self.outbox = {f"{p}:{kind}": asyncio.Queue() for p in PROVIDERS for kind in ("receipts", "inbound")}
        self._workers = [asyncio.create_task(self._push(key)) for key in self.outbox for _ in range(4)]
        for provider, bucket in self.buckets.items():
            bucket.tokens = float(self.rate_of(provider))

    async def stop(self) -> None:
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.client:
            await self.client.aclose()

    def reset(self) -> None:
        self.messages.clear()
        self.stats.clear()
        self.nonces.clear()
        self._attempts.clear()
        self._generation += 1
        for queue in self.outbox.values():
            while not queue.empty():
                queue.get_nowait()

    @property
    def idle(self) -> bool:
        return self._in_flight == 0 and all(q.empty() for q in self.outbox.values()) and self.stats["receipts_due"] == 0

    # ---- sending
    def rate_of(self, provider: str) -> int:
        return getattr(self.faults, f"{provider}_rate_limit")

    def admit(self, provider: str, count: int) -> bool:
        """False when the provider's rate limit refuses `count` more messages now."""
        if self.buckets[provider].take(count, self.rate_of(provider)):
            return True
        self.stats[f"{provider}_throttled"] += count
        return False

    def fresh_nonce(self, nonce: str) -> bool:
        now = time.monotonic()
        if len(self.nonces) > 200_000:
            self.nonces = {k: v for k, v in self.nonces.items() if now - v < self.faults.max_clock_skew_s}
        if nonce in self.nonces:
            return False
        self.nonces[nonce] = now
        return True

    def next_id(self, provider: str) -> str:
        n = next(self._ids)
        return f"{n:018d}^0" if provider == "aliyun" else f"2433:{n:028d}"

    def refusal(self, phone: str, message_key: str) -> str | None:
        """Why the carrier refuses this number now, as a kind: 'blocked', 'system', or None."""
        if phone in self.faults.blocked_numbers:
            return "blocked"
        self._attempts[message_key] += 1  # a retry of the same message draws afresh, so it can succeed
        attempt = self._attempts[message_key]
        if draws(self.faults.seed, f"refuse:{message_key}:{attempt}", 1)[0] < self.faults.failure_rate:
            return "system"
        return None

    def accept(self, message: Message) -> None:
        self.messages.append(message)
        self.stats[f"{message.provider}_accepted"] += 1
        self.stats["receipts_due"] += 1
        delay = self.faults.receipt_delay_ms / 1000
        asyncio.get_running_loop().call_later(delay, self._report, message, self._generation)

    def _report(self, message: Message, generation: int) -> None:
        if generation != self._generation:
            return  # sent before a reset
        self.stats["receipts_due"] -= 1
        key = f"{message.provider}:{message.provider_message_id}:{message.phone}"
        undelivered = draws(self.faults.seed, f"receipt:{key}", 1)[0] < self.faults.undelivered_rate
        message.delivered = not undelivered
        message.reported_at = utcnow()
        message.receipt_code = (
            ("DELIVERED" if message.provider == "aliyun" else "DELIVRD")
            if not undelivered
            else ("MK:0001" if message.provider == "aliyun" else "MI:0013")
        )
        item = receipt_item(message)
        queue = self.outbox.get(f"{message.provider}:receipts")
        if queue is not None:
            queue.put_nowait(item)

    def inbound(self, provider: str, phone: str, text: str) -> dict:
        now = utcnow()
        number = phone[3:] if phone.startswith("+86") else phone
        if provider == "aliyun":
            item = {
                "phone_number": number,
                "send_time": china_time(now),
                "content": text,
                "sign_name": self._last_sign(provider, phone),
                "dest_code": "",
                "sequence_id": next(self._ids),
            }
        else:
            item = {
                "extend": "",
                "mobile": number,
                "nationcode": "86",
                "sign": self._last_sign(provider, phone),
                "text": text,
                "time": int(now.timestamp()),
            }
        self.outbox[f"{provider}:inbound"].put_nowait(item)
        self.stats[f"{provider}_inbound"] += 1
        return item

    def _last_sign(self, provider: str, phone: str) -> str:
        for message in reversed(self.messages):
            if message.provider == provider and message.phone == phone:
                return message.sign_name
        return ""

    # ---- pushing
    async def _push(self, key: str) -> None:
        provider, kind = key.split(":")
        queue = self.outbox[key]
        while True:
            first = await queue.get()
            self._in_flight += 1
            try:
                batch = [first]
                while kind == "receipts" and len(batch) < self.faults.receipt_batch_max and not queue.empty():
                    batch.append(queue.get_nowait())
                # Aliyun SmsReport / SmsUp and Tencent status callbacks are JSON arrays; a Tencent reply is one object.
                document = batch[0] if (provider, kind) == ("tencent", "inbound") else batch
                url = getattr(self.settings, f"{provider}_{kind}_url")
                await self._post(url, document, f"{provider}_{kind}", len(batch))
            finally:
                self._in_flight -= 1

    async def _post(self, url: str, document: object, counter: str, count: int) -> None:
        body = json.dumps(document, ensure_ascii=False).encode()
        delay = 0.2
        for _ in range(6):
            try:
                response = await self.client.post(url, content=body, headers={"Content-Type": "application/json"})
                if response.status_code < 300:
                    self.stats[f"{counter}_pushed"] += count
                    return
                self.stats[f"{counter}_non_2xx"] += 1
                if response.status_code < 500 and response.status_code != 429:
                    self.stats[f"{counter}_refused"] += count
                    return
            except httpx.HTTPError as exc:
                self.stats[f"{counter}_errors"] += 1
                log.debug("push to %s failed: %r", url, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        self.stats[f"{counter}_abandoned"] += count


def receipt_item(message: Message) -> dict:
    number = message.phone[3:]
    if message.provider == "aliyun":  # SmsReport
        return {
            "phone_number": number,
            "send_time": china_time(message.received_at),
            "report_time": china_time(message.reported_at or utcnow()),
            "success": bool(message.delivered),
            "err_code": message.receipt_code,
            "err_msg": "用户接收成功" if message.delivered else "用户接收失败",
            "sms_size": "1",
            "biz_id": message.provider_message_id,
            "out_id": message.message_id or "",
        }
    return {  # Tencent status callback
        "user_receive_time": china_time(message.reported_at or utcnow()),
        "nationcode": "86",
        "mobile": number,
        "report_status": "SUCCESS" if message.delivered else "FAIL",
        "errmsg": message.receipt_code,
        "description": "用户短信送达成功" if message.delivered else "用户短信接收失败",
        "sid": message.provider_message_id,
    }
