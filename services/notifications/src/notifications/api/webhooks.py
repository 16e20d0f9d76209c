"""Partner webhook subscriptions (admins): register, rotate the secret, deliveries, replay, dead letters."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select, text

from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, FieldError, ProblemError, not_found
from notifications.api.deps import Admin, SettingsDep, VaultDep
from notifications.catalogue import event_types
from notifications.db.tables import WebhookAttemptRecord, WebhookDeliveryRecord, WebhookSubscriptionRecord
from notifications.domain.webhooks import type_matches
from notifications.service.webhooks import NewSubscription, create_subscription, resolve_checked, rotate_secret

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=PROBLEM_RESPONSES)
REGION = r"^(?:[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})?$"


class SubscriptionCreate(BaseModel):
    url: str = Field(max_length=2000, examples=["https://mz.example.gov.cn/hooks/guanhuai"])
    event_types: list[str] = Field(
        min_length=1,
        description="Exact types, or `relief.payment.*` / `relief.>`",
        examples=[["entitlements.decision.granted", "relief.payment.*"]],
    )
    region_prefix: str = Field(default="", pattern=REGION, description="Only events in this division prefix")
    description: str = Field(default="", max_length=200)


class SubscriptionPublic(BaseModel):
    id: uuid.UUID
    url: str
    event_types: list[str]
    region_prefix: str
    description: str
    active: bool
    disabled_reason: str | None
    previous_secret_expires_at: datetime | None
    created_at: datetime


class SubscriptionWithSecret(SubscriptionPublic):
    secret: str = Field(description="Standard Webhooks secret (whsec_…). Shown only now.")


class RotateRequest(BaseModel):
    overlap_hours: float | None = Field(
        default=None, ge=0, le=168, description="How long the old secret still signs (both signatures sent)"
    )


class AttemptPublic(BaseModel):
    attempt: int
    status_code: int | None
    error: str | None
    latency_ms: float
    attempted_at: datetime


class DeliveryPublic(BaseModel):
    id: str = Field(description="The webhook-id header, the same on every retry and replay")
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class DeliveryDetail(DeliveryPublic):
    attempt_log: list[AttemptPublic]


class ReplayRange(BaseModel):
    since: datetime
    until: datetime
    only_failed: bool = Field(default=True, description="Replay only dead-lettered deliveries")


class ReplayAnswer(BaseModel):
    replayed: int


def _public(r: WebhookSubscriptionRecord) -> SubscriptionPublic:
    return SubscriptionPublic.model_validate(r, from_attributes=True)


def _unknown_types(types: list[str]) -> ProblemError:
    detail = f"Unknown event types: {', '.join(types)}. See GET /v1/event-types."
    zh = f"未知的事件类型：{'、'.join(types)}。请查看 GET /v1/event-types。"
    return ProblemError(
        422,
        "validation-error",
        "Invalid request",
        detail,
        "请求数据无效",
        zh,
        extensions={"errors": [FieldError(field="event_types", message=detail, message_zh=zh).model_dump()]},
    )


async def _subscription(uow: UowDep, subscription_id: uuid.UUID) -> WebhookSubscriptionRecord:
    record = await uow.session.get(WebhookSubscriptionRecord, subscription_id, with_for_update=True)
    if record is None:
        raise not_found("webhook subscription", "订阅")
    return record


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=SubscriptionWithSecret,
    summary="Register a partner endpoint; answers its secret once",
)
async def create_webhook_subscription(
    body: SubscriptionCreate, principal: Admin, uow: UowDep, vault: VaultDep, settings: SettingsDep, response: Response
) -> SubscriptionWithSecret:
    known = set(event_types())
    unknown = [t for t in body.event_types if not any(type_matches([t], k) for k in known)]
    if unknown:
        raise _unknown_types(unknown)
    await resolve_checked(body.url, settings.webhook_allowed_networks)
    record, secret = await create_subscription(
        uow, vault, NewSubscription(body.url, body.event_types, body.region_prefix, body.description), principal.sub
    )
    public = _public(record)
    await uow.commit()
    response.headers["Location"] = f"/v1/webhooks/subscriptions/{record.id}"
    response.headers["Cache-Control"] = "no-store"
    return SubscriptionWithSecret(**public.model_dump(), secret=secret)


@router.get("/subscriptions", response_model=list[SubscriptionPublic], summary="Registered partner endpoints")
async def list_webhook_subscriptions(_: Admin, uow: UowDep) -> list[SubscriptionPublic]:
    rows = await uow.session.execute(select(WebhookSubscriptionRecord).order_by(WebhookSubscriptionRecord.created_at))
    return [_public(r) for r in rows.scalars()]


@router.post(
    "/subscriptions/{subscription_id}/rotate-secret",
    response_model=SubscriptionWithSecret,
    summary="New secret; the old one keeps signing during the overlap",
)
async def rotate_webhook_secret(
    subscription_id: uuid.UUID,
    body: RotateRequest,
    _: Admin,
    uow: UowDep,
    vault: VaultDep,
    settings: SettingsDep,
    response: Response,
) -> SubscriptionWithSecret:
    record = await _subscription(uow, subscription_id)
    hours = settings.webhook_secret_overlap_hours if body.overlap_hours is None else body.overlap_hours
    secret = await rotate_secret(uow, vault, record, datetime.now(UTC), timedelta(hours=hours))
    public = _public(record)
    await uow.commit()
    response.headers["Cache-Control"] = "no-store"
    return SubscriptionWithSecret(**public.model_dump(), secret=secret)


@router.post(
    "/subscriptions/{subscription_id}/enable",
    response_model=SubscriptionPublic,
    summary="Re-enable an endpoint disabled after 410 Gone",
)
async def enable_webhook_subscription(subscription_id: uuid.UUID, _: Admin, uow: UowDep) -> SubscriptionPublic:
    record = await _subscription(uow, subscription_id)
    record.active, record.disabled_reason = True, None
    await uow.session.flush()
    public = _public(record)
    await uow.commit()
    return public


@router.get("/deliveries", response_model=list[DeliveryPublic], summary="Deliveries, newest first")
async def list_webhook_deliveries(
    _: Admin,
    uow: UowDep,
    subscription_id: uuid.UUID | None = None,
    state: str | None = None,
    event_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryPublic]:
    query = select(WebhookDeliveryRecord).order_by(WebhookDeliveryRecord.created_at.desc()).limit(limit)
    if subscription_id:
        query = query.where(WebhookDeliveryRecord.subscription_id == subscription_id)
    if state:
        query = query.where(WebhookDeliveryRecord.state == state)
    if event_id:
        query = query.where(WebhookDeliveryRecord.event_id == event_id)
    return [
        DeliveryPublic.model_validate(r, from_attributes=True) for r in (await uow.session.execute(query)).scalars()
    ]


@router.get("/dead-letters", response_model=list[DeliveryPublic], summary="Deliveries that gave up")
async def list_webhook_dead_letters(
    _: Admin, uow: UowDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[DeliveryPublic]:
    query = (
        select(WebhookDeliveryRecord)
        .where(WebhookDeliveryRecord.state == "dead")
        .order_by(WebhookDeliveryRecord.finished_at.desc())
        .limit(limit)
    )
    return [
        DeliveryPublic.model_validate(r, from_attributes=True) for r in (await uow.session.execute(query)).scalars()
    ]


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail, summary="A delivery and every attempt")
async def get_webhook_delivery(delivery_id: str, _: Admin, uow: UowDep) -> DeliveryDetail:
    record = await uow.session.get(WebhookDeliveryRecord, delivery_id)
    if record is None:
        raise not_found("delivery", "投递")
    attempts = (
        await uow.session.execute(
            select(WebhookAttemptRecord)
            .where(WebhookAttemptRecord.delivery_id == delivery_id)
            .order_by(WebhookAttemptRecord.id)
        )
    ).scalars()
    return DeliveryDetail(
        **DeliveryPublic.model_validate(record, from_attributes=True).model_dump(),
        attempt_log=[AttemptPublic.model_validate(a, from_attributes=True) for a in attempts],
    )


REPLAY = (
    "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = now(), lease_until = NULL,"
    " finished_at = NULL WHERE "
)


@router.post("/deliveries/{delivery_id}/replay", response_model=ReplayAnswer, summary="Send one delivery again")
async def replay_webhook_delivery(delivery_id: str, _: Admin, uow: UowDep) -> ReplayAnswer:
    result = await uow.session.execute(text(REPLAY + "id = :id AND state <> 'pending'"), {"id": delivery_id})
    if result.rowcount == 0 and await uow.session.get(WebhookDeliveryRecord, delivery_id) is None:
        raise not_found("delivery", "投递")
    await uow.commit()
    return ReplayAnswer(replayed=result.rowcount)


@router.post(
    "/subscriptions/{subscription_id}/replay",
    response_model=ReplayAnswer,
    summary="Send a time range of a subscription's deliveries again",
)
async def replay_webhook_range(subscription_id: uuid.UUID, body: ReplayRange, _: Admin, uow: UowDep) -> ReplayAnswer:
    await _subscription(uow, subscription_id)
    states = "state = 'dead'" if body.only_failed else "state <> 'pending'"
    result = await uow.session.execute(
        text(REPLAY + f"subscription_id = :sid AND created_at >= :since AND created_at < :until AND {states}"),
        {"sid": subscription_id, "since": body.since, "until": body.until},
    )
    await uow.commit()
    return ReplayAnswer(replayed=result.rowcount)
