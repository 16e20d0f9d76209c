"""The SMS providers this service sends through (contract C5), built from settings, and their rate limits."""

import asyncio
import time

import httpx

from notifications.adapters.sms.base import SmsProvider
from notifications.settings import NotificationsSettings


def build_providers(settings: NotificationsSettings, client: httpx.AsyncClient) -> dict[str, SmsProvider]:
    # Imported here: the concrete adapters are only needed by a running sender.
    from notifications.adapters.sms.aliyun import AliyunSms
    from notifications.adapters.sms.tencent import TencentSms

    built: dict[str, SmsProvider] = {
        "aliyun": AliyunSms(
            settings.aliyun_url,
            settings.aliyun_access_key_id,
            settings.aliyun_access_key_secret.get_secret_value(),
            client,
            concurrency=settings.sms_concurrency,
            timeout_s=settings.sms_timeout_seconds,
            batch_size=settings.aliyun_batch_size,
        ),
        "tencent": TencentSms(
            settings.tencent_url,
            settings.tencent_secret_id,
            settings.tencent_secret_key.get_secret_value(),
            settings.tencent_sdk_app_id,
            client,
            concurrency=settings.sms_concurrency,
            timeout_s=settings.sms_timeout_seconds,
        ),
    }
    return {name: built[name] for name in settings.sms_providers if name in built}


class RateLimiter:
    """Token bucket: at most `rate` messages a second, bursts of at most a tenth of a second's worth.

    It starts empty and never lends. The small burst leaves the provider's own bucket (one second of burst)
    a margin for requests that reach it bunched or out of order, so a sender keeping to this is not throttled
    by a provider whose quota is the same rate.
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate / 10)
        self._tokens = 0.0
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    @property
    def largest_take(self) -> int:
        return int(self.capacity)

    async def acquire(self, count: int) -> None:
        if count > self.largest_take:
            raise ValueError(f"cannot take {count} at once from a bucket of {self.largest_take}")
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= count:
                    self._tokens -= count
                    return
                await asyncio.sleep((count - self._tokens) / self.rate)
