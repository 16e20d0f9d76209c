"""Provider callbacks: delivery receipts matched to messages, and replies (opt-outs, survey scores).

A receipt that names a provider id but no message yet is parked until the sender records that id
(`service/receipts.py`). Any other receipt or reply that matches nothing is recorded in
`rejected_callbacks` (without the phone number) and counted; the provider still gets a success answer
so it does not retry forever.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from carekit.db.uow import UnitOfWork
from carekit.pii import PiiVault
from notifications.adapters.sms.base import DeliveryReceipt, InboundSms
from notifications.db.tables import MessageRecord, OptOutRecord, RejectedCallbackRecord, SurveyResponseRecord
from notifications.domain.delivery import MessageState
from notifications.domain.phones import PHONE_INDEX_PURPOSE, valid_mobile
from notifications.domain.receipts import NO_PHONE, can_wait
from notifications.domain.replies import FreeText, OptOut, SurveyScore, classify, township_of
from notifications.metrics import INBOUND_REPLIES, PARKED_RECEIPTS, REJECTED_CALLBACKS
from notifications.service.receipts import UNKNOWN_MESSAGE, HeldReceipt, apply, match, park


@dataclass
class CallbackTally:
    matched: int = 0
    rejected: int = 0
    parked: int = 0  # receipts waiting for the sender to record the provider's id (answered as a success)


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
    """Match every receipt (by our id, else by the provider's id and the number) and apply the matches in one
    statement; park those that name a provider id the sender may not have recorded yet; reject the rest."""
    held = [_held(vault, provider, r) for r in receipts]
    picked = await match(uow.session, held)
    await apply(uow.session, held, picked)
    waiting = [h for i, h in enumerate(held) if i not in picked and can_wait(h.provider_message_id)]
    new = await park(uow.session, waiting)
    if new:
        PARKED_RECEIPTS.labels(provider=provider, outcome="parked").inc(new)
    unknown = [r for i, r in enumerate(receipts) if i not in picked and not can_wait(r.provider_message_id)]
    for receipt in unknown:
        # Our ids exist before anything is sent: an unknown one without a provider id can never match.
        await _reject(uow, provider, "receipt", receipt.provider_message_id or receipt.message_id, UNKNOWN_MESSAGE)
    return CallbackTally(matched=len(picked), rejected=len(unknown), parked=len(waiting))


def _held(vault: PiiVault, provider: str, receipt: DeliveryReceipt) -> HeldReceipt:
    phone = valid_mobile(receipt.phone)
    return HeldReceipt(
        provider=provider,
        provider_message_id=receipt.provider_message_id,
        message_id=_as_uuid(receipt.message_id),
        phone_index=vault.index(phone, PHONE_INDEX_PURPOSE) if phone else NO_PHONE,
        delivered=receipt.delivered,
        error_code=None if receipt.delivered else receipt.error_code,
        reported_at=receipt.reported_at,
    )


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
