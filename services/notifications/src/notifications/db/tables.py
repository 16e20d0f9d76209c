"""The notifications tables (SQLModel). Alembic migrations are written against this metadata.

No phone number is stored here: messages carry the recipient's `person_id` and, once sent, the
platform-wide blind index of the number (`phone_index`), which is also what opt-outs are keyed by.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Index, LargeBinary, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata


def _now_column() -> Any:
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


def _ts(nullable: bool = True) -> Any:
    return Column(DateTime(timezone=True), nullable=nullable)


class TemplateRecord(SQLModel, table=True):
    __tablename__ = "templates"
    code: str = Field(primary_key=True, max_length=63)
    language: str = Field(primary_key=True, max_length=8)
    body: str
    signature: str = Field(max_length=32)
    category: str = Field(max_length=16)
    urgent: bool = Field(default=False)
    survey: bool = Field(default=False)
    provider_template_ids: dict = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    version: int = Field(default=1)
    created_at: datetime = Field(sa_column=_now_column())
    updated_at: datetime = Field(sa_column=_now_column())


class MessageRecord(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient_key", "template_code", name="uq_messages_event_recipient_template"),
        Index("ix_messages_due", "not_before", postgresql_where="state = 'queued'"),
        Index("ix_messages_cap", "phone_index", "template_code", "sent_at"),
        Index("ix_messages_provider_ref", "provider", "provider_message_id"),
        Index("ix_messages_recipient_template", "recipient_key", "template_code"),  # folding decision notices
    )
    id: uuid.UUID = Field(primary_key=True)
    event_id: uuid.UUID
    event_type: str = Field(max_length=96)
    template_code: str = Field(max_length=63)
    language: str = Field(default="zh", max_length=8)
    recipient_key: str = Field(max_length=80)  # "person:<id>" or "household:<id>" (its head, resolved at send time)
    person_id: uuid.UUID | None = Field(default=None, index=True)
    household_id: uuid.UUID | None = Field(default=None)
    region_code: str | None = Field(default=None, max_length=12)
    params: dict = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    category: str = Field(max_length=16)
    urgent: bool = Field(default=False)
    survey: bool = Field(default=False)
    state: str = Field(default="queued", max_length=16, index=True)
    not_before: datetime = Field(sa_column=_ts(False))
    lease_until: datetime | None = Field(default=None, sa_column=_ts())
    attempts: int = Field(default=0)
    provider: str | None = Field(default=None, max_length=16)
    provider_message_id: str | None = Field(default=None, max_length=96)
    phone_index: str | None = Field(default=None, max_length=64)
    parts: int | None = Field(default=None)
    last_error: str | None = Field(default=None)
    created_at: datetime = Field(sa_column=_now_column())
    updated_at: datetime = Field(sa_column=_now_column())
    sent_at: datetime | None = Field(default=None, sa_column=_ts())
    final_at: datetime | None = Field(default=None, sa_column=_ts())


class OptOutRecord(SQLModel, table=True):
    __tablename__ = "opt_outs"
    phone_index: str = Field(primary_key=True, max_length=64)
    provider: str = Field(max_length=16)
    opted_out_at: datetime = Field(sa_column=_now_column())


class SurveyResponseRecord(SQLModel, table=True):
    __tablename__ = "survey_responses"
    message_id: uuid.UUID = Field(primary_key=True, foreign_key="messages.id")
    person_id: uuid.UUID | None = Field(default=None)
    region_code: str | None = Field(default=None, max_length=12)
    township: str | None = Field(default=None, max_length=9, index=True)
    score: int
    received_at: datetime = Field(sa_column=_now_column())


class RejectedCallbackRecord(SQLModel, table=True):
    """Receipts and replies that matched nothing: kept (without the phone number) and counted."""

    __tablename__ = "rejected_callbacks"
    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=16)
    kind: str = Field(max_length=16)  # receipt | inbound
    reference: str | None = Field(default=None, max_length=96)
    reason: str = Field(max_length=64)
    received_at: datetime = Field(sa_column=_now_column())


class ParkedReceiptRecord(SQLModel, table=True):
    """Receipts that came before the sender recorded the provider's id: matched again when it does, by the
    sweep, or moved to `rejected_callbacks` once too old. The number is kept only as its blind index."""

    __tablename__ = "parked_receipts"
    __table_args__ = (
        UniqueConstraint("provider", "provider_message_id", "phone_index", name="uq_parked_receipts_receipt"),
    )
    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=16)
    provider_message_id: str = Field(max_length=96)
    phone_index: str = Field(max_length=64)  # "" when the receipt carried no valid number
    message_id: uuid.UUID | None = Field(default=None)  # our id, when the receipt gave one
    delivered: bool
    error_code: str | None = Field(default=None)
    reported_at: datetime = Field(sa_column=_ts(False))
    received_at: datetime = Field(sa_column=_now_column())


class WebhookSubscriptionRecord(SQLModel, table=True):
    __tablename__ = "webhook_subscriptions"
    id: uuid.UUID = Field(primary_key=True)
    url: str
    event_types: list[str] = Field(sa_column=Column(ARRAY(String), nullable=False))
    region_prefix: str = Field(default="", max_length=12)
    description: str = Field(default="")
    active: bool = Field(default=True)
    disabled_reason: str | None = Field(default=None)
    secret_cipher: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    secret_key_id: str = Field(max_length=32)
    previous_secret_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    previous_secret_key_id: str | None = Field(default=None, max_length=32)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_column=_ts())
    created_by: str = Field(default="")
    created_at: datetime = Field(sa_column=_now_column())


class WebhookDeliveryRecord(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_subscription_event"),
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where="state = 'pending'"),
        Index("ix_webhook_deliveries_created", "subscription_id", "created_at"),
    )
    id: str = Field(primary_key=True, max_length=40)  # the webhook-id, the same on every retry and replay
    subscription_id: uuid.UUID = Field(foreign_key="webhook_subscriptions.id", index=True)
    event_id: uuid.UUID
    event_type: str = Field(max_length=96)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # the CloudEvent JSON
    state: str = Field(default="pending", max_length=16, index=True)  # pending | succeeded | dead
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_column=_ts(False))
    lease_until: datetime | None = Field(default=None, sa_column=_ts())
    last_status: int | None = Field(default=None)
    last_error: str | None = Field(default=None)
    created_at: datetime = Field(sa_column=_now_column())
    finished_at: datetime | None = Field(default=None, sa_column=_ts())


class WebhookAttemptRecord(SQLModel, table=True):
    __tablename__ = "webhook_attempts"
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="webhook_deliveries.id", index=True, max_length=40)
    attempt: int
    status_code: int | None = Field(default=None)
    error: str | None = Field(default=None)
    latency_ms: float
    attempted_at: datetime = Field(sa_column=_now_column())
