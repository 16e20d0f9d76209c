"""The sender: claims due messages, asks the registry for the numbers, applies the rules, sends.

One round: claim up to `sender_batch_size` queued messages whose `not_before` has come (lease, SKIP
LOCKED, so several senders can run side by side); resolve household heads; fetch names and phones
from the registry in one batched call; then per message: expire / defer for quiet hours / suppress
(no valid phone, opted out of marketing, daily cap) / send through the provider chosen by the attempt
number (failover). Results are written back in one statement per round; receipts parked because they
came before the provider's ids were recorded are applied in the same transaction. Phones stay in memory.
"""

import asyncio
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import text

from carekit.db.engine import Database
from carekit.logging import get_logger
from carekit.pii import PiiVault
from notifications.adapters.providers import RateLimiter
from notifications.adapters.registry import Contact, RegistryClient, RegistryUnavailable
from notifications.adapters.sms.base import SmsProvider, SmsRequest, SmsSubmitResult
from notifications.domain.delivery import (
    MessageState,
    QuietHours,
    china_day_start,
    is_expired,
    next_provider,
    retry_delay,
)
from notifications.domain.phones import PHONE_INDEX_PURPOSE, valid_mobile
from notifications.domain.templates import Category, Template, render, sms_parts
from notifications.metrics import SMS_OUTCOMES
from notifications.service.clock import Clock
from notifications.service.receipts import apply_parked_for_sent, count_parked
from notifications.service.templates import templates_by_code
from notifications.settings import NotificationsSettings

log = get_logger(__name__)
HOUSEHOLD_LOOKUPS_AT_ONCE = 8

CLAIM = text(
    "UPDATE messages m SET lease_until = :lease FROM ("
    " SELECT id FROM messages WHERE state = 'queued' AND not_before <= :now"
    " AND (lease_until IS NULL OR lease_until < :now) ORDER BY not_before LIMIT :limit FOR UPDATE SKIP LOCKED"
    ") due WHERE m.id = due.id RETURNING m.id, m.template_code, m.language, m.person_id, m.household_id,"
    " m.params, m.category, m.urgent, m.attempts, m.created_at, m.region_code"
)
# One statement per round (arrays unnested). A receipt that already arrived is never overwritten.
WRITE_BACK = text(
    "UPDATE messages m SET state = CASE WHEN m.state IN ('delivered', 'failed') THEN m.state ELSE o.state END,"
    " person_id = COALESCE(o.person_id, m.person_id), region_code = COALESCE(o.region_code, m.region_code),"
    " phone_index = COALESCE(o.phone_index, m.phone_index), provider = COALESCE(o.provider, m.provider),"
    " provider_message_id = COALESCE(o.provider_message_id, m.provider_message_id), attempts = o.attempts,"
    " not_before = o.not_before, lease_until = NULL, last_error = o.last_error, parts = COALESCE(o.parts, m.parts),"
    " sent_at = COALESCE(o.sent_at, m.sent_at), final_at = o.final_at, updated_at = now() FROM unnest("
    "CAST(:id AS uuid[]), CAST(:state AS varchar[]), CAST(:person_id AS uuid[]), CAST(:region_code AS varchar[]),"
    " CAST(:phone_index AS varchar[]), CAST(:provider AS varchar[]), CAST(:provider_message_id AS varchar[]),"
    " CAST(:attempts AS integer[]), CAST(:not_before AS timestamptz[]), CAST(:last_error AS text[]),"
    " CAST(:parts AS integer[]), CAST(:sent_at AS timestamptz[]), CAST(:final_at AS timestamptz[]))"
    " AS o(id, state, person_id, region_code, phone_index, provider, provider_message_id, attempts, not_before,"
    " last_error, parts, sent_at, final_at) WHERE m.id = o.id"
)
OUTCOME_COLUMNS = (
    "id",
    "state",
    "person_id",
    "region_code",
    "phone_index",
    "provider",
    "provider_message_id",
    "attempts",
    "not_before",
    "last_error",
    "parts",
    "sent_at",
    "final_at",
)
OPTED_OUT = text("SELECT phone_index FROM opt_outs WHERE phone_index = ANY(:indexes)")
SENT_TODAY = text(
    "SELECT phone_index, template_code, count(*) FROM messages WHERE phone_index = ANY(:indexes)"
    " AND sent_at >= :since AND state IN ('sent', 'delivered') GROUP BY phone_index, template_code"
)


@dataclass
class Outcome:
    id: uuid.UUID
    state: str
    attempts: int
    not_before: datetime
    person_id: str | None = None
    region_code: str | None = None
    phone_index: str | None = None
    provider: str | None = None
    provider_message_id: str | None = None
    last_error: str | None = None
    parts: int | None = None
    sent_at: datetime | None = None
    final_at: datetime | None = None

    def row(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class Pending:
    """A message ready to go: its request and what to write back when the provider answers."""

    outcome: Outcome
    request: SmsRequest
    provider: str


@dataclass
class Sender:
    db: Database
    registry: RegistryClient
    providers: dict[str, SmsProvider]
    vault: PiiVault
    settings: NotificationsSettings
    clock: Clock
    limiters: dict[str, RateLimiter] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.quiet = QuietHours(start=_hour(self.settings.quiet_hours_start), end=_hour(self.settings.quiet_hours_end))
        for name in self.providers:
            self.limiters.setdefault(name, RateLimiter(self.settings.sms_rate_per_second.get(name, 100.0)))

    async def run(self) -> None:
        while True:
            try:
                sent = await self.send_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                log.warning("sender round failed", error=str(exc))
                sent = 0
            if sent < self.settings.sender_batch_size:
                await asyncio.sleep(self.settings.sender_poll_seconds)

    async def send_due(self) -> int:
        """One round; returns the number of messages claimed."""
        now = self.clock()
        rows = await self._claim(now)
        if not rows:
            return 0
        try:
            outcomes = await self._decide_and_send(rows, now)
        except RegistryUnavailable as exc:
            log.warning("registry unavailable; messages stay queued", error=str(exc))
            later = now + timedelta(seconds=self.settings.sender_poll_seconds * 5)
            outcomes = [Outcome(r["id"], MessageState.QUEUED, r["attempts"], later) for r in rows]
        async with self.db.sessionmaker() as session:
            rows = [o.row() for o in outcomes]
            await session.execute(WRITE_BACK, {k: [r[k] for r in rows] for k in OUTCOME_COLUMNS})
            # Receipts the provider sent before these ids were recorded are waiting: apply them now.
            sent = [(o.provider, o.provider_message_id) for o in outcomes if o.provider and o.provider_message_id]
            applied = await apply_parked_for_sent(session, sent)
            await session.commit()
        count_parked(applied, "applied")
        for o in outcomes:
            SMS_OUTCOMES.labels(state=o.state).inc()
        return len(rows)

    async def _claim(self, now: datetime) -> list[dict[str, Any]]:
        lease = now + timedelta(seconds=self.settings.sender_lease_seconds)
        async with self.db.sessionmaker() as session:
            result = await session.execute(
                CLAIM, {"now": now, "lease": lease, "limit": self.settings.sender_batch_size}
            )
            rows = [dict(r._mapping) for r in result]
            await session.commit()
        return rows

    async def _decide_and_send(self, rows: list[dict[str, Any]], now: datetime) -> list[Outcome]:
        await self._resolve_households(rows)
        contacts = await self.registry.contacts([str(r["person_id"]) for r in rows if r["person_id"]])
        phones = {pid: valid_mobile(c.phone) for pid, c in contacts.items() if c.alive}
        indexes = {p: self.vault.index(p, PHONE_INDEX_PURPOSE) for p in phones.values() if p}
        async with self.db.sessionmaker() as session:
            templates = await templates_by_code(session, {r["template_code"] for r in rows})
            opted = {i for (i,) in await session.execute(OPTED_OUT, {"indexes": list(indexes.values())})}
            counts = Counter(
                {
                    (i, t): n
                    for i, t, n in await session.execute(
                        SENT_TODAY, {"indexes": list(indexes.values()), "since": china_day_start(now)}
                    )
                }
            )
        outcomes: list[Outcome] = []
        pending: list[Pending] = []
        for row in rows:
            contact = contacts.get(str(row["person_id"])) if row["person_id"] else None
            phone = phones.get(str(row["person_id"])) if row["person_id"] else None
            item = self._decide(row, now, templates, contact, phone, indexes, opted, counts)
            (pending if isinstance(item, Pending) else outcomes).append(item)
        outcomes.extend(await self._send(pending, now))
        return outcomes

    async def _resolve_households(self, rows: list[dict[str, Any]]) -> None:
        """The recipient of each household-addressed message: each household asked once per round, a few
        at a time (the registry has no batched head lookup)."""
        wanted = {str(r["household_id"]) for r in rows if r["person_id"] is None and r["household_id"] is not None}
        if not wanted:
            return
        at_once = asyncio.Semaphore(HOUSEHOLD_LOOKUPS_AT_ONCE)

        async def head_of(household_id: str) -> tuple[str, str | None]:
            async with at_once:
                return household_id, await self.registry.household_contact(household_id)

        heads = dict(await asyncio.gather(*(head_of(h) for h in wanted)))
        for row in rows:
            if row["person_id"] is None and row["household_id"] is not None:
                head = heads[str(row["household_id"])]
                row["person_id"] = uuid.UUID(head) if head else None

    def _decide(
        self,
        row: dict[str, Any],
        now: datetime,
        templates: dict[tuple[str, str], Template],
        contact: Contact | None,
        phone: str | None,
        indexes: dict[str, str],
        opted: set[str],
        counts: Counter,
    ) -> Pending | Outcome:
        base = Outcome(
            row["id"],
            MessageState.QUEUED,
            row["attempts"],
            now,
            person_id=str(row["person_id"]) if row["person_id"] else None,
            region_code=contact.region_code if contact else None,
        )

        def final(state: MessageState, reason: str) -> Outcome:
            base.state, base.last_error, base.final_at = state, reason, now
            return base

        if is_expired(row["created_at"], now, timedelta(hours=self.settings.message_ttl_hours)):
            return final(MessageState.EXPIRED, "too old to send")
        template = templates.get((row["template_code"], row["language"]))
        if template is None:
            return final(MessageState.FAILED, "template missing")
        if not row["urgent"] and self.quiet.holds_at(now):
            base.not_before = self.quiet.next_allowed(now)
            base.last_error = "deferred: quiet hours"
            return base
        if contact is None or not contact.alive:
            return final(MessageState.SUPPRESSED, "recipient unknown or deceased")
        if phone is None:
            return final(MessageState.SUPPRESSED, "no valid mobile number")
        index = indexes[phone]
        base.phone_index = index
        if template.category is Category.MARKETING and index in opted:
            return final(MessageState.SUPPRESSED, "opted out of marketing")
        if counts[(index, template.code)] >= self.settings.per_number_daily_cap:
            return final(MessageState.SUPPRESSED, "daily cap for this template reached")
        counts[(index, template.code)] += 1
        params = _params(row["params"]) | {"name": contact.name or ""}
        base.parts = sms_parts(render(template, params))
        provider = next_provider(list(self.providers), row["attempts"])
        request = SmsRequest(
            message_id=str(row["id"]),
            phone=phone,
            sign_name=template.sign_name,
            template_id=template.provider_template_ids.get(provider, ""),
            params={p: params[p] for p in template.placeholders},
            param_order=template.placeholders,
        )
        return Pending(base, request, provider)

    async def _send(self, pending: list[Pending], now: datetime) -> list[Outcome]:
        by_provider: dict[str, list[Pending]] = {}
        for p in pending:
            by_provider.setdefault(p.provider, []).append(p)
        groups = await asyncio.gather(*(self._send_group(name, group, now) for name, group in by_provider.items()))
        return [o for g in groups for o in g]

    async def _send_group(self, name: str, group: list[Pending], now: datetime) -> list[Outcome]:
        """Through the provider's rate limit in chunks (≤ 100 or the per-second rate), sent as they are admitted."""
        limiter = self.limiters[name]
        size = min(100, limiter.largest_take)
        chunks = [group[i : i + size] for i in range(0, len(group), size)]
        sent = await asyncio.gather(*(self._send_chunk(name, chunk, now) for chunk in chunks))
        return [o for chunk in sent for o in chunk]

    async def _send_chunk(self, name: str, chunk: list[Pending], now: datetime) -> list[Outcome]:
        await self.limiters[name].acquire(len(chunk))
        try:
            results = {r.message_id: r for r in await self.providers[name].send([p.request for p in chunk])}
        except Exception as exc:  # noqa: BLE001 - a provider outage: every message is retried elsewhere
            log.warning("provider send failed", provider=name, error=type(exc).__name__)
            results = {}
        return [self._after_send(name, p, results.get(p.request.message_id), now) for p in chunk]

    def _after_send(self, name: str, p: Pending, result: SmsSubmitResult | None, now: datetime) -> Outcome:
        o = p.outcome
        o.provider, o.attempts = name, o.attempts + 1
        if result is not None and result.accepted:
            o.state, o.provider_message_id, o.sent_at, o.last_error = (
                MessageState.SENT,
                result.provider_message_id,
                now,
                None,
            )
            return o
        retryable = result is None or result.retryable
        o.last_error = (result.error_code if result else None) or "provider unavailable"
        if retryable and o.attempts < self.settings.sender_max_attempts:
            delay = retry_delay(
                o.attempts,
                base_seconds=self.settings.sender_retry_base_seconds,
                max_seconds=self.settings.sender_retry_max_seconds,
            )
            o.state, o.not_before = MessageState.QUEUED, now + timedelta(seconds=delay)
        else:
            o.state, o.final_at = MessageState.FAILED, now
        return o


def _params(value: Any) -> dict[str, str]:
    data = json.loads(value) if isinstance(value, str) else dict(value or {})
    return {k: str(v) for k, v in data.items()}


def _hour(h: int) -> time:
    return time(h, 0)
