"""Delivery receipts: which message a receipt names, and what it makes of it (pure functions).

A receipt names our message id (OutId / SessionContext) or only the provider's id. One Aliyun
SendBatchSms BizId covers up to 100 numbers, so the provider's id is paired with the blind index of
the number. A receipt can arrive before the sender has recorded the provider's id: it is then parked
and matched again later (`service/receipts.py`).
"""

from collections.abc import Hashable, Iterable
from typing import TypeVar

from notifications.domain.delivery import MessageState

MAX_REFERENCE = 96  # messages.provider_message_id
NO_PHONE = ""  # the phone index of a receipt without a valid number (a parked row's key column is not null)

M = TypeVar("M", bound=Hashable)
K = TypeVar("K", bound=Hashable)


def pick_by_reference(sent: Iterable[tuple[M, str, str | None]], wanted: Iterable[tuple[K, str, str]]) -> dict[K, M]:
    """Pair receipts `(key, provider ref, phone index)` with sent messages `(id, provider ref, phone index)`.

    The reference and the number must name exactly one message; a receipt without a number (`NO_PHONE`)
    matches only a reference that names a single message. Ambiguous receipts match nothing.
    """
    by_number: dict[tuple[str, str], set[M]] = {}
    by_ref: dict[str, set[M]] = {}
    for message_id, ref, index in sent:
        by_ref.setdefault(ref, set()).add(message_id)
        if index:
            by_number.setdefault((ref, index), set()).add(message_id)
    picked: dict[K, M] = {}
    for key, ref, index in wanted:
        ids = by_number.get((ref, index), set()) if index != NO_PHONE else by_ref.get(ref, set())
        if len(ids) == 1:
            picked[key] = next(iter(ids))
    return picked


def can_wait(provider_message_id: str | None) -> bool:
    """Whether an unmatched receipt may be parked: our ids exist before anything is sent, so only a provider
    id (one we could record) can name a message the sender has not written back yet."""
    return bool(provider_message_id) and len(provider_message_id or "") <= MAX_REFERENCE


def receipt_outcome(delivered: bool, error_code: str | None) -> tuple[MessageState, str | None]:
    """The state a receipt moves a sent message to, and the error it records."""
    if delivered:
        return MessageState.DELIVERED, None
    return MessageState.FAILED, error_code
