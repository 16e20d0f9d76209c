"""The webhook dispatcher: claims due deliveries, signs them (Standard Webhooks) and posts them.

Each attempt resolves the partner's host once, refuses inward addresses (SSRF guard), connects to
that very address (no second lookup, so no DNS rebinding), follows no redirects, and is logged with
its status and latency. 2xx → succeeded; 410 → the subscription is disabled and the delivery parked;
anything else → retried on the Standard Webhooks schedule with jitter, then dead-lettered.
The `webhook-id` is the delivery's id: the same on every retry and replay.
"""

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import select, text
from standardwebhooks import Webhook

from carekit.db.engine import Database
from carekit.logging import get_logger
from carekit.pii import PiiVault
from notifications.db.tables import WebhookSubscriptionRecord
from notifications.domain.webhooks import UnsafeUrl, next_attempt_delay
from notifications.metrics import WEBHOOK_ATTEMPTS, WEBHOOK_LATENCY
from notifications.service.webhooks import resolve_checked, signing_secrets
from notifications.settings import NotificationsSettings

log = get_logger(__name__)
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"

CLAIM = text(
    "UPDATE webhook_deliveries d SET lease_until = :lease FROM ("
    " SELECT id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= :now"
    " AND (lease_until IS NULL OR lease_until < :now) ORDER BY next_attempt_at LIMIT :limit FOR UPDATE SKIP LOCKED"
    ") due WHERE d.id = due.id RETURNING d.id, d.subscription_id, d.payload, d.attempts"
)
# One statement each per round (arrays unnested), not one round trip per delivery.
WRITE_BACK = text(
    "UPDATE webhook_deliveries d SET state = r.state, attempts = r.attempts, next_attempt_at = r.next_at,"
    " lease_until = NULL, last_status = r.status, last_error = r.error, finished_at = r.finished FROM unnest("
    "CAST(:id AS varchar[]), CAST(:state AS varchar[]), CAST(:attempts AS integer[]),"
    " CAST(:next_at AS timestamptz[]), CAST(:status AS integer[]), CAST(:error AS text[]),"
    " CAST(:finished AS timestamptz[])) AS r(id, state, attempts, next_at, status, error, finished)"
    " WHERE d.id = r.id"
)
LOG_ATTEMPT = text(
    "INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, latency_ms, attempted_at)"
    " SELECT * FROM unnest(CAST(:id AS varchar[]), CAST(:attempts AS integer[]), CAST(:status AS integer[]),"
    " CAST(:error AS text[]), CAST(:latency_ms AS float8[]), CAST(:at AS timestamptz[]))"
)
RESULT_COLUMNS = ("id", "state", "attempts", "next_at", "status", "error", "finished", "latency_ms", "at")
DISABLE = text("UPDATE webhook_subscriptions SET active = false, disabled_reason = :reason WHERE id = :id")


@dataclass
class AttemptResult:
    id: str
    attempts: int
    state: str
    next_at: datetime
    status: int | None
    error: str | None
    latency_ms: float
    at: datetime
    finished: datetime | None = None
    disable: uuid.UUID | None = None

    def row(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "disable"}


def pinned_url(url: str, address: str) -> str:
    """The URL with its host replaced by the address it was checked against."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


class Dispatcher:
    def __init__(
        self, db: Database, vault: PiiVault, settings: NotificationsSettings, client: httpx.AsyncClient
    ) -> None:
        self.db, self.vault, self.settings, self.client = db, vault, settings, client
        self._gate = asyncio.Semaphore(settings.webhook_concurrency)

    async def run(self) -> None:
        while True:
            try:
                claimed = await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                log.warning("webhook round failed", error=str(exc))
                claimed = 0
            if claimed < self.settings.webhook_batch_size:
                await asyncio.sleep(self.settings.webhook_poll_seconds)

    async def deliver_due(self) -> int:
        now = datetime.now(UTC)
        async with self.db.sessionmaker() as session:
            rows = [
                dict(r._mapping)
                for r in await session.execute(
                    CLAIM,
                    {
                        "now": now,
                        "lease": now + timedelta(seconds=self.settings.webhook_timeout_seconds * 3),
                        "limit": self.settings.webhook_batch_size,
                    },
                )
            ]
            await session.commit()
            if not rows:
                return 0
            subs = {
                s.id: s
                for s in (
                    await session.execute(
                        select(WebhookSubscriptionRecord).where(
                            WebhookSubscriptionRecord.id.in_({r["subscription_id"] for r in rows})
                        )
                    )
                ).scalars()
            }
        targets = {sub_id: await self._target(sub, now) for sub_id, sub in subs.items()}
        results = await asyncio.gather(
            *(self._attempt(r, subs[r["subscription_id"]], targets[r["subscription_id"]]) for r in rows)
        )
        async with self.db.sessionmaker() as session:
            rows = [r.row() for r in results]
            params = {k: [row[k] for row in rows] for k in RESULT_COLUMNS}
            await session.execute(WRITE_BACK, params)
            await session.execute(LOG_ATTEMPT, params)
            for sub_id in {r.disable for r in results if r.disable}:
                await session.execute(DISABLE, {"id": sub_id, "reason": "endpoint answered 410 Gone"})
            await session.commit()
        return len(rows)

    async def _target(self, sub: WebhookSubscriptionRecord, now: datetime) -> "Target":
        """Per round and subscription: the host resolved once and checked, and the signers."""
        signers = [Webhook(s) for s in signing_secrets(self.vault, sub, now)] if sub.active else []
        try:
            addresses = await resolve_checked(sub.url, self.settings.webhook_allowed_networks)
        except UnsafeUrl as exc:
            return Target(None, signers, str(exc))
        return Target(pinned_url(sub.url, addresses[0]), signers, None)

    async def _attempt(self, row: dict[str, Any], sub: WebhookSubscriptionRecord, target: "Target") -> AttemptResult:
        now = datetime.now(UTC)
        attempts = row["attempts"] + 1
        if not sub.active:
            return AttemptResult(row["id"], row["attempts"], "dead", now, None, "endpoint disabled", 0.0, now, now)
        async with self._gate:
            started = time.perf_counter()
            status, error = await self._post(row, sub, target, now)
            latency = (time.perf_counter() - started) * 1000
        WEBHOOK_LATENCY.observe(latency / 1000)
        result = AttemptResult(row["id"], attempts, "pending", now, status, error, round(latency, 2), now)
        if status is not None and 200 <= status < 300:
            result.state, result.finished = "succeeded", now
        elif status == 410:
            result.state, result.finished, result.disable = "dead", now, sub.id
        else:
            delay = next_attempt_delay(attempts, scale=self.settings.webhook_schedule_scale)
            if delay is None:
                result.state, result.finished = "dead", now
            else:
                result.next_at = now + timedelta(seconds=delay)
        WEBHOOK_ATTEMPTS.labels(outcome=result.state).inc()
        return result

    async def _post(
        self, row: dict[str, Any], sub: WebhookSubscriptionRecord, target: "Target", now: datetime
    ) -> tuple[int | None, str | None]:
        if target.url is None:
            return None, target.refused
        body: bytes = row["payload"]
        parts = urlsplit(sub.url)
        text_ = body.decode()
        headers = {
            "content-type": CONTENT_TYPE,
            "host": parts.netloc,
            "webhook-id": row["id"],
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": " ".join(w.sign(row["id"], now, text_) for w in target.signers),
        }
        extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
        try:
            response = await self.client.post(
                target.url, content=body, headers=headers, extensions=extensions, follow_redirects=False
            )
        except httpx.HTTPError as exc:
            return None, type(exc).__name__
        return response.status_code, None if response.is_success else f"HTTP {response.status_code}"


@dataclass
class Target:
    url: str | None  # pinned to the checked address; None when refused
    signers: list[Webhook]
    refused: str | None
