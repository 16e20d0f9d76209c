"""Delivers status callbacks to merchants: HMAC-signed JSON, retried with backoff, optionally batched."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections import Counter

import httpx

from simulators.payments.settings import FaultConfig, MerchantConfig

log = logging.getLogger("simulators.payments")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class CallbackSender:
    """One queue per merchant; a batching merchant gets JSON arrays of up to callback_batch_max statuses."""

    def __init__(self, faults: FaultConfig, merchants: dict[str, MerchantConfig], stats: Counter[str]) -> None:
        self.faults = faults
        self.merchants = merchants
        self.stats = stats
        self.queue: asyncio.Queue[tuple[str, dict]] = asyncio.Queue()
        self.client = httpx.AsyncClient(timeout=10)
        self._workers: list[asyncio.Task] = []
        self._in_flight = 0

    def start(self) -> None:
        self._workers = [asyncio.create_task(self._work()) for _ in range(self.faults.callback_concurrency)]

    async def close(self) -> None:
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.aclose()

    def drop_pending(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()

    @property
    def idle(self) -> bool:
        return self.queue.empty() and self._in_flight == 0

    def put(self, merchant_id: str, status: dict) -> None:
        self.queue.put_nowait((merchant_id, status))

    async def _work(self) -> None:
        while True:
            merchant_id, first = await self.queue.get()
            self._in_flight += 1
            try:
                merchant = self.merchants.get(merchant_id)
                if merchant is None:
                    self.stats["callbacks_no_merchant"] += 1
                    continue
                if merchant.batch_callbacks:
                    batch = [first, *self._more_for(merchant_id, self.faults.callback_batch_max - 1)]
                    await self._deliver(merchant, json.dumps(batch, ensure_ascii=False).encode(), len(batch))
                else:
                    await self._deliver(merchant, json.dumps(first, ensure_ascii=False).encode(), 1)
            finally:
                self._in_flight -= 1

    def _more_for(self, merchant_id: str, limit: int) -> list[dict]:
        """Take up to `limit` further queued statuses of the same merchant (others go back in order)."""
        taken: list[dict] = []
        others: list[tuple[str, dict]] = []
        while len(taken) < limit and not self.queue.empty():
            item = self.queue.get_nowait()
            (taken.append(item[1]) if item[0] == merchant_id else others.append(item))
        for item in others:
            self.queue.put_nowait(item)
        return taken

    async def _deliver(self, merchant: MerchantConfig, body: bytes, count: int) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-Sim-Signature": sign(merchant.secret, body),
            "X-Sim-Timestamp": str(int(time.time())),
        }
        delay = 0.2
        for attempt in range(1, self.faults.callback_attempts + 1):
            try:
                response = await self.client.post(merchant.callback_url, content=body, headers=headers)
                if response.status_code < 300:
                    self.stats["callbacks_delivered"] += count
                    self.stats["callback_requests"] += 1
                    return
                self.stats["callback_non_2xx"] += 1
                if 400 <= response.status_code < 500 and response.status_code not in (408, 425, 429):
                    log.warning("callback refused with %s: %s", response.status_code, response.text[:200])
                    self.stats["callbacks_refused"] += count
                    return
            except httpx.HTTPError as exc:
                self.stats["callback_errors"] += 1
                log.debug("callback attempt %s failed: %r", attempt, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        self.stats["callbacks_abandoned"] += count
