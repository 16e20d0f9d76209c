"""Partner webhook subscriptions (admins): register, rotate the secret, deliveries, replay, dead letters.

A subscription belongs to the region of its `region_prefix`: an admin registers one inside their own region
and sees, rotates, enables and replays only those (and their deliveries); anything else is not found.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import AwareDatetime, BaseModel, Field

from carekit.auth.principal import Principal
from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, forbidden, not_found
from notifications.api.deps import Admin, SettingsDep, VaultDep
from notifications.catalogue import event_types
from notifications.db.tables import WebhookDeliveryRecord, WebhookSubscriptionRecord
from notifications.domain.webhooks import (
    DIVISION_PREFIX,
    OutsideRegion,
    check_event_types,
    subscribable,
    subscription_region,
)
from notifications.service import webhook_admin
from notifications.service.webhook_admin import DeliveryFilter
from notifications.service.webhooks import NewSubscription, create_subscription, resolve_checked, rotate_secret

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=PROBLEM_RESPONSES)
SUBSCRIBABLE = subscribable(event_types())
DeliveryState = Literal["pending", "succeeded", "dead"]
DeliveryId = Annotated[
    str, Path(pattern=r"^msg_[0-9a-f]{32}$", max_length=36, description="The webhook-id of the delivery")
]


class SubscriptionCreate(BaseModel):
    url: str = Field(
        max_length=2000,
        pattern=r"^[hH][tT][tT][pP][sS]?://",
        description="A public http(s) endpoint; one resolving to an internal address is refused",
        examples=["https://mz.example.gov.cn/hooks/guanhuai"],
    )
    event_types: list[Annotated[str, Field(json_schema_extra={"enum": SUBSCRIBABLE})]] = Field(
        min_length=1,
        max_length=100,
        description="Exact types, or `relief.payment.*` / `relief.>`",
        examples=[["entitlements.decision.granted", "relief.payment.*"]],
    )
    region_prefix: str | None = Field(
        default=None,
        pattern=DIVISION_PREFIX,
        description="Only events in this division prefix; inside your region, which is the default",
    )
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
        default=None,
        strict=True,
        ge=0,
        le=168,
        description="How long the old secret still signs (both signatures sent)",
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
    since: AwareDatetime
    until: AwareDatetime = Field(description="Deliveries created before this; none when not after `since`")
    only_failed: bool = Field(default=True, strict=True, description="Replay only dead-lettered deliveries")


class ReplayAnswer(BaseModel):
    replayed: int


def _public(r: WebhookSubscriptionRecord) -> SubscriptionPublic:
    return SubscriptionPublic.model_validate(r, from_attributes=True)


def _delivery(r: WebhookDeliveryRecord) -> DeliveryPublic:
    return DeliveryPublic.model_validate(r, from_attributes=True)


def _region_of_new(body: SubscriptionCreate, principal: Principal) -> str:
    try:
        return subscription_region(body.region_prefix, principal.region, everywhere=principal.is_service)
    except OutsideRegion as exc:
        raise forbidden(str(exc), exc.message_zh) from exc


async def _subscription(uow: UowDep, principal: Principal, subscription_id: uuid.UUID) -> WebhookSubscriptionRecord:
    record = await webhook_admin.subscription_for_update(uow.session, principal, subscription_id)
    if record is None:
        raise not_found("webhook subscription", "订阅")
    return record


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=SubscriptionWithSecret,
    summary="Register a partner endpoint in your region; answers its secret once",
)
async def create_webhook_subscription(
    body: SubscriptionCreate, principal: Admin, uow: UowDep, vault: VaultDep, settings: SettingsDep, response: Response
) -> SubscriptionWithSecret:
    region = _region_of_new(body, principal)
    check_event_types(body.event_types, SUBSCRIBABLE)
    await resolve_checked(body.url, settings.webhook_allowed_networks)
    record, secret = await create_subscription(
        uow, vault, NewSubscription(body.url, body.event_types, region, body.description), principal.sub
    )
    public = _public(record)
    await uow.commit()
    response.headers["Location"] = f"/v1/webhooks/subscriptions/{record.id}"
    response.headers["Cache-Control"] = "no-store"
    return SubscriptionWithSecret(**public.model_dump(), secret=secret)


@router.get(
    "/subscriptions", response_model=list[SubscriptionPublic], summary="Registered partner endpoints in your region"
)
async def list_webhook_subscriptions(principal: Admin, uow: UowDep) -> list[SubscriptionPublic]:
    return [_public(r) for r in await webhook_admin.subscriptions(uow.session, principal)]


@router.post(
    "/subscriptions/{subscription_id}/rotate-secret",
    response_model=SubscriptionWithSecret,
    summary="New secret; the old one keeps signing during the overlap",
)
async def rotate_webhook_secret(
    subscription_id: uuid.UUID,
    body: RotateRequest,
    principal: Admin,
    uow: UowDep,
    vault: VaultDep,
    settings: SettingsDep,
    response: Response,
) -> SubscriptionWithSecret:
    record = await _subscription(uow, principal, subscription_id)
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
async def enable_webhook_subscription(subscription_id: uuid.UUID, principal: Admin, uow: UowDep) -> SubscriptionPublic:
    record = await _subscription(uow, principal, subscription_id)
    record.active, record.disabled_reason = True, None
    await uow.session.flush()
    public = _public(record)
    await uow.commit()
    return public


@router.get("/deliveries", response_model=list[DeliveryPublic], summary="Deliveries, newest first")
async def list_webhook_deliveries(
    principal: Admin,
    uow: UowDep,
    subscription_id: uuid.UUID | None = None,
    state: DeliveryState | None = None,
    event_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryPublic]:
    wanted = DeliveryFilter(subscription_id, state, event_id, limit)
    return [_delivery(r) for r in await webhook_admin.deliveries(uow.session, principal, wanted)]


@router.get("/dead-letters", response_model=list[DeliveryPublic], summary="Deliveries that gave up")
async def list_webhook_dead_letters(
    principal: Admin, uow: UowDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[DeliveryPublic]:
    return [_delivery(r) for r in await webhook_admin.dead_letters(uow.session, principal, limit)]


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail, summary="A delivery and every attempt")
async def get_webhook_delivery(delivery_id: DeliveryId, principal: Admin, uow: UowDep) -> DeliveryDetail:
    record = await webhook_admin.delivery(uow.session, principal, delivery_id)
    if record is None:
        raise not_found("delivery", "投递")
    attempts = await webhook_admin.attempts(uow.session, delivery_id)
    return DeliveryDetail(
        **_delivery(record).model_dump(),
        attempt_log=[AttemptPublic.model_validate(a, from_attributes=True) for a in attempts],
    )


@router.post("/deliveries/{delivery_id}/replay", response_model=ReplayAnswer, summary="Send one delivery again")
async def replay_webhook_delivery(delivery_id: DeliveryId, principal: Admin, uow: UowDep) -> ReplayAnswer:
    replayed = await webhook_admin.replay_delivery(uow.session, principal, delivery_id)
    if replayed is None:
        raise not_found("delivery", "投递")
    await uow.commit()
    return ReplayAnswer(replayed=replayed)


@router.post(
    "/subscriptions/{subscription_id}/replay",
    response_model=ReplayAnswer,
    summary="Send a time range of a subscription's deliveries again",
)
async def replay_webhook_range(
    subscription_id: uuid.UUID, body: ReplayRange, principal: Admin, uow: UowDep
) -> ReplayAnswer:
    await _subscription(uow, principal, subscription_id)
    replayed = await webhook_admin.replay_range(uow.session, subscription_id, body.since, body.until, body.only_failed)
    await uow.commit()
    return ReplayAnswer(replayed=replayed)
