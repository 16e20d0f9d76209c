"""Delivery receipts matched to messages and applied, or parked until the sender records the provider's id.

The sender commits the provider's ids (e.g. an Aliyun BizId) only after the provider has answered, so a
receipt can come first. Such a receipt is parked (`parked_receipts`, the number only as its blind index)
and matched again: by the sender, in the transaction that records the ids; and by a periodic sweep, which
also moves receipts parked longer than `parked_receipt_max_age_hours` to `rejected_callbacks`.
"""

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from carekit.db.engine import Database
from carekit.logging import get_logger
from notifications.db.tables import ParkedReceiptRecord, RejectedCallbackRecord
from notifications.domain.receipts import pick_by_reference, receipt_outcome
from notifications.metrics import PARKED_RECEIPTS, REJECTED_CALLBACKS
from notifications.settings import NotificationsSettings

log = get_logger(__name__)

KNOWN_IDS = text("SELECT id FROM messages WHERE id = ANY(:ids)")
BY_PROVIDER_ID = text(
    "SELECT id, provider_message_id, phone_index FROM messages WHERE provider = :provider"
    " AND provider_message_id = ANY(:refs)"
)
# Only a message still waiting for its receipt changes: a receipt never moves a message backwards.
APPLY_RECEIPTS = text(
    "UPDATE messages m SET state = r.state, final_at = r.at, last_error = r.error, updated_at = now() FROM unnest("
    "CAST(:id AS uuid[]), CAST(:state AS varchar[]), CAST(:at AS timestamptz[]), CAST(:error AS text[]))"
    " AS r(id, state, at, error) WHERE m.id = r.id AND m.state IN ('sent', 'queued')"
)
PARKED_COLUMNS = "id, provider, provider_message_id, phone_index, message_id, delivered, error_code, reported_at"
# SKIP LOCKED: a row the sweep holds is left to it, so the sender never waits on the sweep.
PARKED_FOR_REFS = text(
    f"SELECT {PARKED_COLUMNS}, received_at FROM parked_receipts WHERE provider = :provider"
    " AND provider_message_id = ANY(:refs) FOR UPDATE SKIP LOCKED"
)
PARKED_PAGE = text(
    f"SELECT {PARKED_COLUMNS}, received_at,"
    " received_at < now() - make_interval(secs => CAST(:max_age AS double precision)) AS too_old"
    " FROM parked_receipts WHERE id > :after ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED"
)
DELETE_PARKED = text("DELETE FROM parked_receipts WHERE id = ANY(:ids)")
UNKNOWN_MESSAGE = "unknown message"


@dataclass(frozen=True)
class HeldReceipt:
    """A receipt as it is matched and parked: the number only as its blind index (`NO_PHONE` if none)."""

    provider: str
    provider_message_id: str | None
    message_id: uuid.UUID | None
    phone_index: str
    delivered: bool
    error_code: str | None
    reported_at: datetime


@dataclass
class SweepTally:
    applied: int = 0
    expired: int = 0
    waiting: int = 0


async def match(session: AsyncSession, receipts: Sequence[HeldReceipt]) -> dict[int, uuid.UUID]:
    """The message each receipt names, by position: by our id, else by the provider's id and the number."""
    named = {i: r.message_id for i, r in enumerate(receipts) if r.message_id is not None}
    picked: dict[int, uuid.UUID] = {}
    if named:
        known = set((await session.execute(KNOWN_IDS, {"ids": list(set(named.values()))})).scalars())
        picked = {i: mid for i, mid in named.items() if mid in known}
    by_provider: dict[str, list[int]] = {}
    for i, r in enumerate(receipts):
        if i not in picked and r.provider_message_id:
            by_provider.setdefault(r.provider, []).append(i)
    for provider, positions in by_provider.items():
        refs = list({receipts[i].provider_message_id for i in positions})
        sent = await session.execute(BY_PROVIDER_ID, {"provider": provider, "refs": refs})
        wanted = [(i, receipts[i].provider_message_id or "", receipts[i].phone_index) for i in positions]
        picked |= pick_by_reference(sent.all(), wanted)
    return picked


async def apply(session: AsyncSession, receipts: Sequence[HeldReceipt], picked: dict[int, uuid.UUID]) -> None:
    """All matched receipts in one statement (one receipt per message: the last one given)."""
    latest = {message_id: receipts[i] for i, message_id in sorted(picked.items())}
    if not latest:
        return
    outcomes = [(mid, r.reported_at, *receipt_outcome(r.delivered, r.error_code)) for mid, r in latest.items()]
    await session.execute(
        APPLY_RECEIPTS,
        {
            "id": [o[0] for o in outcomes],
            "at": [o[1] for o in outcomes],
            "state": [o[2].value for o in outcomes],
            "error": [o[3] for o in outcomes],
        },
    )


async def park(session: AsyncSession, receipts: Sequence[HeldReceipt]) -> int:
    """Park receipts that name a provider id but no message yet; the same receipt twice is parked once.
    Returns how many were new."""
    if not receipts:
        return 0
    values = [
        {
            "provider": r.provider,
            "provider_message_id": r.provider_message_id,
            "phone_index": r.phone_index,
            "message_id": r.message_id,
            "delivered": r.delivered,
            "error_code": r.error_code,
            "reported_at": r.reported_at,
        }
        for r in receipts
    ]
    statement = insert(ParkedReceiptRecord).values(values).on_conflict_do_nothing().returning(ParkedReceiptRecord.id)
    return len((await session.execute(statement)).all())


async def apply_parked_for_sent(session: AsyncSession, sent: Iterable[tuple[str, str]]) -> list[Any]:
    """In the transaction that records the provider ids `(provider, provider ref)` of sent messages: apply and
    delete the parked receipts that now match. Returns the rows applied (count them after the commit)."""
    refs: dict[str, set[str]] = {}
    for provider, ref in sent:
        refs.setdefault(provider, set()).add(ref)
    rows: list[Any] = []
    for provider, provider_refs in refs.items():
        found = await session.execute(PARKED_FOR_REFS, {"provider": provider, "refs": list(provider_refs)})
        rows.extend(found.all())
    if not rows:
        return []
    applied, _ = await _rematch(session, rows)
    return applied


async def sweep_parked_receipts(db: Database, max_age: timedelta, batch: int) -> SweepTally:
    """Match every parked receipt again, one batch per transaction; those older than `max_age` that still
    match nothing are recorded as rejected ("unknown message") and deleted."""
    tally, after = SweepTally(), 0
    while True:
        async with db.sessionmaker() as session:
            page = {"after": after, "limit": batch, "max_age": max_age.total_seconds()}
            rows = (await session.execute(PARKED_PAGE, page)).all()
            applied, left = await _rematch(session, rows) if rows else ([], [])
            expired = [r for r in left if r.too_old]
            await _expire(session, expired)
            await session.commit()
        count_parked(applied, "applied")
        count_parked(expired, "expired")
        tally.applied += len(applied)
        tally.expired += len(expired)
        tally.waiting += len(left) - len(expired)
        if len(rows) < batch:
            return tally
        after = rows[-1].id


def count_parked(rows: Iterable[Any], outcome: str) -> None:
    """Count parked rows by provider once their transaction committed; an expired one is also a rejected callback."""
    for provider, n in Counter(r.provider for r in rows).items():
        PARKED_RECEIPTS.labels(provider=provider, outcome=outcome).inc(n)
        if outcome == "expired":
            REJECTED_CALLBACKS.labels(provider=provider, kind="receipt").inc(n)


async def _rematch(session: AsyncSession, rows: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """Apply and delete the parked rows that now match a message; returns (applied, still unmatched)."""
    held = [_held(row) for row in rows]
    picked = await match(session, held)
    await apply(session, held, picked)
    if picked:
        await session.execute(DELETE_PARKED, {"ids": [rows[i].id for i in picked]})
    applied = [row for i, row in enumerate(rows) if i in picked]
    return applied, [row for i, row in enumerate(rows) if i not in picked]


async def _expire(session: AsyncSession, rows: Sequence[Any]) -> None:
    if not rows:
        return
    session.add_all(
        RejectedCallbackRecord(
            provider=r.provider,
            kind="receipt",
            reference=r.provider_message_id[:96],
            reason=UNKNOWN_MESSAGE,
            received_at=r.received_at,
        )
        for r in rows
    )
    await session.execute(DELETE_PARKED, {"ids": [r.id for r in rows]})


def _held(row: Any) -> HeldReceipt:
    return HeldReceipt(
        provider=row.provider,
        provider_message_id=row.provider_message_id,
        message_id=row.message_id,
        phone_index=row.phone_index,
        delivered=row.delivered,
        error_code=row.error_code,
        reported_at=row.reported_at,
    )


@dataclass
class ReceiptSweeper:
    """The periodic sweep of parked receipts, one of the service's background workers."""

    db: Database
    settings: NotificationsSettings

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.parked_receipt_sweep_seconds)
            try:
                tally = await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the next sweep tries again
                log.warning("parked receipt sweep failed", error=str(exc))
                continue
            if tally.applied or tally.expired:
                log.info("parked receipts swept", applied=tally.applied, expired=tally.expired, waiting=tally.waiting)

    async def sweep(self) -> SweepTally:
        s = self.settings
        return await sweep_parked_receipts(
            self.db, timedelta(hours=s.parked_receipt_max_age_hours), s.parked_receipt_sweep_batch
        )
