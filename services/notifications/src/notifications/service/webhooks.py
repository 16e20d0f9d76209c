"""Partner webhook subscriptions: register (SSRF-checked), rotate secrets with overlap, fan events out.

A subscription's secret is `whsec_` + base64 of 32 random bytes, shown once and stored sealed with the
PII vault. Rotation keeps the previous secret for an overlap window; deliveries made during the
overlap carry two signatures (new and old), so the partner can switch keys at its own pace.
"""

import asyncio
import base64
import json
import secrets
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text

from carekit.db.uow import UnitOfWork
from carekit.events.envelope import EventEnvelope
from carekit.pii import PiiVault
from notifications.db.tables import WebhookSubscriptionRecord
from notifications.domain.webhooks import UnsafeUrl, check_address, parse_target, region_matches, type_matches

SECRET_PREFIX = "whsec_"
SECRET_FIELD = "webhook_secret"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _context(subscription_id: uuid.UUID) -> str:
    return f"{SECRET_FIELD}:{subscription_id}"


async def resolve_checked(url: str, allow: list[str]) -> list[str]:
    """Resolve the URL's host once and refuse it if any address points inward (UnsafeUrl)."""
    target = parse_target(url)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:  # a label empty or over 63 characters, a NUL
        raise UnsafeUrl(f"The host {target.host} does not resolve.", f"无法解析主机 {target.host}。") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        check_address(address, allow)
    return addresses


@dataclass(frozen=True)
class NewSubscription:
    url: str
    event_types: list[str]
    region_prefix: str
    description: str


async def create_subscription(
    uow: UnitOfWork, vault: PiiVault, new: NewSubscription, created_by: str
) -> tuple[WebhookSubscriptionRecord, str]:
    record = WebhookSubscriptionRecord(
        id=uuid.uuid4(),
        url=new.url,
        event_types=new.event_types,
        region_prefix=new.region_prefix,
        description=new.description,
        secret_cipher=b"",
        secret_key_id="",
        created_by=created_by,
    )
    secret = new_secret()
    sealed = vault.seal(secret, _context(record.id))
    record.secret_cipher, record.secret_key_id = sealed.cipher, sealed.key_id
    uow.session.add(record)
    await uow.session.flush()
    await uow.session.refresh(record)
    return record, secret


async def rotate_secret(
    uow: UnitOfWork, vault: PiiVault, record: WebhookSubscriptionRecord, now: datetime, overlap: timedelta
) -> str:
    record.previous_secret_cipher, record.previous_secret_key_id = record.secret_cipher, record.secret_key_id
    record.previous_secret_expires_at = now + overlap
    secret = new_secret()
    sealed = vault.seal(secret, _context(record.id))
    record.secret_cipher, record.secret_key_id = sealed.cipher, sealed.key_id
    await uow.session.flush()
    return secret


def signing_secrets(vault: PiiVault, record: WebhookSubscriptionRecord, now: datetime) -> list[str]:
    """The current secret, and the previous one while its overlap lasts."""
    found = [vault.open(record.secret_cipher, record.secret_key_id, _context(record.id))]
    if (
        record.previous_secret_cipher is not None
        and record.previous_secret_expires_at is not None
        and record.previous_secret_expires_at > now
    ):
        found.append(
            vault.open(record.previous_secret_cipher, record.previous_secret_key_id or "", _context(record.id))
        )
    return found


INSERT_DELIVERIES = text(
    "INSERT INTO webhook_deliveries (id, subscription_id, event_id, event_type, payload, state, attempts,"
    " next_attempt_at) SELECT id, subscription_id, event_id, event_type, payload, 'pending', 0, at FROM unnest("
    "CAST(:id AS varchar[]), CAST(:subscription_id AS uuid[]), CAST(:event_id AS uuid[]),"
    " CAST(:event_type AS varchar[]), CAST(:payload AS bytea[]), CAST(:at AS timestamptz[]))"
    " AS d(id, subscription_id, event_id, event_type, payload, at)"
    " ON CONFLICT ON CONSTRAINT uq_webhook_deliveries_subscription_event DO NOTHING"
)
DELIVERY_COLUMNS = ("id", "subscription_id", "event_id", "event_type", "payload", "at")


def event_region(event: EventEnvelope) -> str | None:
    data = event.data
    return data.get("region_code") or data.get("division_code")


async def fan_out(uow: UnitOfWork, events: list[EventEnvelope]) -> int:
    """One pending delivery per (active subscription, matching event); repeated events add nothing."""
    rows = await uow.session.execute(select(WebhookSubscriptionRecord).where(WebhookSubscriptionRecord.active))
    subscriptions = list(rows.scalars())
    if not subscriptions:
        return 0
    params = [
        {
            "id": "msg_" + uuid.uuid4().hex,
            "subscription_id": s.id,
            "event_id": uuid.UUID(str(e.id)),
            "event_type": e.type,
            "payload": e.to_json(),
            "at": e.time,
        }
        for e in events
        for s in subscriptions
        if type_matches(s.event_types, e.type) and region_matches(s.region_prefix, event_region(e))
    ]
    if params:
        await uow.session.execute(INSERT_DELIVERIES, {k: [p[k] for p in params] for k in DELIVERY_COLUMNS})
    return len(params)


def payload_json(payload: bytes) -> dict:
    return json.loads(payload)
