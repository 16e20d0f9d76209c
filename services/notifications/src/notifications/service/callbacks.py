"""Provider callbacks: delivery receipts matched to messages, and replies (opt-outs, survey scores).

A receipt or reply that matches nothing is recorded in `rejected_callbacks` (without the phone
number) and counted; the provider still gets a success answer so it does not retry forever.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from carekit.db.uow import UnitOfWork
from carekit.pii import PiiVault
from notifications.adapters.sms.base import DeliveryReceipt, InboundSms
from notifications.db.tables import MessageRecord, OptOutRecord, RejectedCallbackRecord, SurveyResponseRecord
from notifications.domain.delivery import MessageState
from notifications.domain.phones import PHONE_INDEX_PURPOSE, valid_mobile
from notifications.domain.replies import FreeText, OptOut, SurveyScore, classify, township_of
from notifications.metrics import INBOUND_REPLIES, REJECTED_CALLBACKS

KNOWN_IDS = text("SELECT id FROM messages WHERE id = ANY(:ids)")
BY_PROVIDER_ID = text(
    "SELECT id, provider_message_id, phone_index FROM messages WHERE provider = :provider"
    " AND provider_message_id = ANY(:refs)"
)
APPLY_RECEIPTS = text(
    "UPDATE messages m SET state = r.state, final_at = r.at, last_error = r.error, updated_at = now() FROM unnest("
    "CAST(:id AS uuid[]), CAST(:state AS varchar[]), CAST(:at AS timestamptz[]), CAST(:error AS text[]))"
    " AS r(id, state, at, error) WHERE m.id = r.id AND m.state IN ('sent', 'queued')"
)


@dataclass
class CallbackTally:
    matched: int = 0
    rejected: int = 0


def _as_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


async def _reject(uow: UnitOfWork, provider: str, kind: str, reference: str | None, reason: str) -> None:
    uow.session.add(
        RejectedCallbackRecord(provider=provider, kind=kind, reference=(reference or "")[:96] or None, reason=reason)
    )
    REJECTED_CALLBACKS.labels(provider=provider, kind=kind).inc()


async def apply_receipts(
    uow: UnitOfWork, vault: PiiVault, provider: str, receipts: list[DeliveryReceipt]
) -> CallbackTally:
    """Match every receipt in two queries (by our id, else by the provider's id and the number), apply the
    matches in one statement, record and count the rest."""
    matched = await _by_message_id(uow, receipts)
    others = [r for r in receipts if _as_uuid(r.message_id) not in matched]
    matched |= await _by_provider_id(uow, vault, provider, others)
    rows = [_receipt_row(message_id, receipt) for message_id, receipt in matched.items()]
    if rows:
        await uow.session.execute(APPLY_RECEIPTS, {k: [r[k] for r in rows] for k in ("id", "state", "at", "error")})
    found = {id(r) for r in matched.values()}
    for receipt in receipts:
        if id(receipt) not in found:
            await _reject(
                uow, provider, "receipt", receipt.provider_message_id or receipt.message_id, "unknown message"
            )
    return CallbackTally(matched=len(matched), rejected=len(receipts) - len(found))


async def _by_message_id(uow: UnitOfWork, receipts: list[DeliveryReceipt]) -> dict[uuid.UUID, DeliveryReceipt]:
    named = {mid: r for r in receipts if (mid := _as_uuid(r.message_id)) is not None}
    if not named:
        return {}
    known = (await uow.session.execute(KNOWN_IDS, {"ids": list(named)})).scalars()
    return {mid: named[mid] for mid in known}


async def _by_provider_id(
    uow: UnitOfWork, vault: PiiVault, provider: str, receipts: list[DeliveryReceipt]
) -> dict[uuid.UUID, DeliveryReceipt]:
    """One SendBatchSms BizId covers up to 100 numbers: the number (its blind index) picks the message."""
    refs = list({r.provider_message_id for r in receipts if r.provider_message_id})
    if not refs:
        return {}
    rows = await uow.session.execute(BY_PROVIDER_ID, {"provider": provider, "refs": refs})
    candidates: dict[tuple, list[uuid.UUID]] = {}
    for message_id, ref, index in rows:
        candidates.setdefault((ref, index), []).append(message_id)
        candidates.setdefault((ref, None), []).append(message_id)
    matched = {}
    for receipt in receipts:
        phone = valid_mobile(receipt.phone)
        index = vault.index(phone, PHONE_INDEX_PURPOSE) if phone else None
        ids = candidates.get((receipt.provider_message_id, index), [])
        if len(ids) == 1:
            matched[ids[0]] = receipt
    return matched


def _receipt_row(message_id: uuid.UUID, receipt: DeliveryReceipt) -> dict:
    state = MessageState.DELIVERED if receipt.delivered else MessageState.FAILED
    return {
        "state": state.value,
        "at": receipt.reported_at,
        "id": message_id,
        "error": None if receipt.delivered else receipt.error_code,
    }


async def apply_inbound(
    uow: UnitOfWork, vault: PiiVault, provider: str, texts: list[InboundSms], survey_days: int
) -> CallbackTally:
    tally = CallbackTally()
    for sms in texts:
        phone = valid_mobile(sms.phone)
        if phone is None:
            await _reject(uow, provider, "inbound", None, "invalid phone number")
            tally.rejected += 1
            continue
        index = vault.index(phone, PHONE_INDEX_PURPOSE)
        reply = classify(sms.text)
        if isinstance(reply, OptOut):
            INBOUND_REPLIES.labels(kind="opt_out").inc()
            await uow.session.execute(
                insert(OptOutRecord).values(phone_index=index, provider=provider).on_conflict_do_nothing()
            )
            tally.matched += 1
        elif isinstance(reply, SurveyScore) and await _record_score(
            uow, index, reply.score, sms.received_at, survey_days
        ):
            INBOUND_REPLIES.labels(kind="survey").inc()
            tally.matched += 1
        else:
            INBOUND_REPLIES.labels(kind="free_text" if isinstance(reply, FreeText) else "late_score").inc()
            await _reject(
                uow,
                provider,
                "inbound",
                None,
                "no survey awaiting a score" if isinstance(reply, SurveyScore) else "free text",
            )
            tally.rejected += 1
    return tally


async def _record_score(uow: UnitOfWork, index: str, score: int, at: datetime, days: int) -> bool:
    """The score answers the latest survey sent to this number in the window that has no answer yet."""
    rows = await uow.session.execute(
        select(MessageRecord)
        .where(
            MessageRecord.phone_index == index,
            MessageRecord.survey.is_(True),
            MessageRecord.state.in_([MessageState.SENT.value, MessageState.DELIVERED.value]),
            MessageRecord.sent_at >= at - timedelta(days=days),
            ~select(SurveyResponseRecord.message_id)
            .where(SurveyResponseRecord.message_id == MessageRecord.id)
            .exists(),
        )
        .order_by(MessageRecord.sent_at.desc())
        .limit(1)
    )
    message = rows.scalars().first()
    if message is None:
        return False
    region = message.region_code
    uow.session.add(
        SurveyResponseRecord(
            message_id=message.id,
            person_id=message.person_id,
            region_code=region,
            township=township_of(region) if region else None,
            score=score,
        )
    )
    return True
