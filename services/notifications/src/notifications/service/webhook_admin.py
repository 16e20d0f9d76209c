"""What an admin may see and do of the partner webhooks: only subscriptions whose region prefix lies inside
the caller's region, and only those subscriptions' deliveries, attempts and dead letters.

The region comes from the stored subscription, never from the request. Anything outside is not found.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, false, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from carekit.auth.principal import Principal
from notifications.db.tables import WebhookAttemptRecord, WebhookDeliveryRecord, WebhookSubscriptionRecord

PENDING, DEAD = "pending", "dead"
# No delivery was created before 1970 or will be after 9000: a range reaching beyond is clipped to these, as
# PostgreSQL cannot hold every datetime (year 1 at +14:00 is year 0 in UTC) and the answer is the same.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


def visible_subscriptions(principal: Principal) -> ColumnElement[bool]:
    """The SQL form of `principal.covers(subscription.region_prefix)`."""
    if principal.is_service:
        return true()
    if not principal.region:
        return false()
    return WebhookSubscriptionRecord.region_prefix.startswith(principal.region, autoescape=True)


def _visible_deliveries(principal: Principal) -> ColumnElement[bool]:
    return WebhookDeliveryRecord.subscription_id.in_(
        select(WebhookSubscriptionRecord.id).where(visible_subscriptions(principal))
    )


async def subscriptions(session: AsyncSession, principal: Principal) -> list[WebhookSubscriptionRecord]:
    query = (
        select(WebhookSubscriptionRecord)
        .where(visible_subscriptions(principal))
        .order_by(WebhookSubscriptionRecord.created_at)
    )
    return list((await session.execute(query)).scalars())


async def subscription_for_update(
    session: AsyncSession, principal: Principal, subscription_id: uuid.UUID
) -> WebhookSubscriptionRecord | None:
    query = (
        select(WebhookSubscriptionRecord)
        .where(WebhookSubscriptionRecord.id == subscription_id, visible_subscriptions(principal))
        .with_for_update()
    )
    return (await session.execute(query)).scalar_one_or_none()


@dataclass(frozen=True)
class DeliveryFilter:
    subscription_id: uuid.UUID | None = None
    state: str | None = None
    event_id: uuid.UUID | None = None
    limit: int = 100


async def deliveries(
    session: AsyncSession, principal: Principal, wanted: DeliveryFilter
) -> list[WebhookDeliveryRecord]:
    """Newest first."""
    query = select(WebhookDeliveryRecord).where(_visible_deliveries(principal))
    if wanted.subscription_id is not None:
        query = query.where(WebhookDeliveryRecord.subscription_id == wanted.subscription_id)
    if wanted.state is not None:
        query = query.where(WebhookDeliveryRecord.state == wanted.state)
    if wanted.event_id is not None:
        query = query.where(WebhookDeliveryRecord.event_id == wanted.event_id)
    query = query.order_by(WebhookDeliveryRecord.created_at.desc()).limit(wanted.limit)
    return list((await session.execute(query)).scalars())


async def dead_letters(session: AsyncSession, principal: Principal, limit: int) -> list[WebhookDeliveryRecord]:
    """Deliveries that gave up, the latest first."""
    query = (
        select(WebhookDeliveryRecord)
        .where(WebhookDeliveryRecord.state == DEAD, _visible_deliveries(principal))
        .order_by(WebhookDeliveryRecord.finished_at.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def delivery(session: AsyncSession, principal: Principal, delivery_id: str) -> WebhookDeliveryRecord | None:
    query = select(WebhookDeliveryRecord).where(WebhookDeliveryRecord.id == delivery_id, _visible_deliveries(principal))
    return (await session.execute(query)).scalar_one_or_none()


async def attempts(session: AsyncSession, delivery_id: str) -> list[WebhookAttemptRecord]:
    query = (
        select(WebhookAttemptRecord)
        .where(WebhookAttemptRecord.delivery_id == delivery_id)
        .order_by(WebhookAttemptRecord.id)
    )
    return list((await session.execute(query)).scalars())


def _replay(*conditions: ColumnElement[bool]):  # noqa: ANN202 - an UPDATE statement
    """Back to pending, from its first attempt again; a pending delivery is left alone."""
    return (
        update(WebhookDeliveryRecord)
        .where(WebhookDeliveryRecord.state != PENDING, *conditions)
        .values(state=PENDING, attempts=0, next_attempt_at=func.now(), lease_until=None, finished_at=None)
        .execution_options(synchronize_session=False)
    )


async def replay_delivery(session: AsyncSession, principal: Principal, delivery_id: str) -> int | None:
    """How many deliveries went back to pending (0 if it already was); None if the caller sees no such one."""
    if await delivery(session, principal, delivery_id) is None:
        return None
    result = await session.execute(_replay(WebhookDeliveryRecord.id == delivery_id))
    return result.rowcount


async def replay_range(
    session: AsyncSession, subscription_id: uuid.UUID, since: datetime, until: datetime, only_failed: bool
) -> int:
    """A time range of one subscription's deliveries (the caller has checked the subscription)."""
    since, until = max(since, EARLIEST), min(until, LATEST)
    result = await session.execute(
        _replay(
            WebhookDeliveryRecord.subscription_id == subscription_id,
            WebhookDeliveryRecord.created_at >= since,
            WebhookDeliveryRecord.created_at < until,
            WebhookDeliveryRecord.state == DEAD if only_failed else true(),
        )
    )
    return result.rowcount
