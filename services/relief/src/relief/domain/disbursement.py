"""Scheduled disbursement rules: payment states, holds, end-to-end ids, masked names for 公示.

A cycle's lines wait as received until the batch is complete; each payment is then written once:
`reserved` with a pending transfer in the fund, or `new` if the fund cannot cover the whole batch
(reserved later, when the batch is reserved again). A payment is `sending` from the moment it is
handed to the provider (committed BEFORE the call, so after a crash or a timeout the provider is
queried before anything is sent again), and then `succeeded`, `failed` or `returned`. A payee who
died before the payment date, or whom the registry no longer knows, is `held` with the reason; a
card failing its check digit is `failed` without being sent. Results arrive duplicated and out of
order: `transition` decides what a reported state does to the current one, so a stale or repeated
report changes nothing.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from stdnum import luhn


class PaymentStatus(StrEnum):
    NEW = "new"
    RESERVED = "reserved"
    SENDING = "sending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETURNED = "returned"
    HELD = "held"


FINAL = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.RETURNED, PaymentStatus.HELD})
IN_FLIGHT = frozenset({PaymentStatus.RESERVED, PaymentStatus.SENDING})


class Ledger(StrEnum):
    """What a transition does to the payment's pending transfer."""

    POST = "post"
    VOID = "void"
    POST_AND_REVERSE = "post_and_reverse"  # returned before we heard it succeeded
    REVERSE = "reverse"  # returned after it succeeded: the money comes back to the fund


@dataclass(frozen=True)
class Transition:
    status: PaymentStatus
    ledger: Ledger


def transition(current: PaymentStatus, reported: str) -> Transition | None:
    """The effect of a provider's report on a payment, or None when it changes nothing."""
    if reported == "succeeded" and current in IN_FLIGHT:
        return Transition(PaymentStatus.SUCCEEDED, Ledger.POST)
    if reported == "failed" and current in IN_FLIGHT:
        return Transition(PaymentStatus.FAILED, Ledger.VOID)
    if reported == "returned" and current in IN_FLIGHT:
        return Transition(PaymentStatus.RETURNED, Ledger.POST_AND_REVERSE)
    if reported == "returned" and current == PaymentStatus.SUCCEEDED:
        return Transition(PaymentStatus.RETURNED, Ledger.REVERSE)
    return None


def end_to_end_id(payment_id: uuid.UUID) -> str:
    """Stable per payment, 34 characters of [A-Z0-9] (the providers allow 35)."""
    return "GH" + payment_id.hex.upper()


@dataclass(frozen=True)
class Reason:
    code: str
    en: str
    zh: str


def hold_reason(found: bool, alive: bool, died_on: date | None, payment_date: date) -> Reason | None:
    if not found:
        return Reason("payee-unknown", "The registry no longer knows this payee.", "户籍系统中已无此收款人。")
    if died_on is not None and died_on < payment_date:
        return Reason(
            "payee-died",
            f"The payee died on {died_on.isoformat()}, before the payment date.",
            f"收款人已于 {died_on.isoformat()} 去世（早于发放日），暂缓发放。",
        )
    if not alive and died_on is None:
        return Reason("payee-died", "The payee is recorded as deceased.", "收款人已登记死亡，暂缓发放。")
    return None


def card_problem(card: str | None) -> Reason | None:
    if not card:
        return Reason("no-bank-card", "No bank card is registered for the payee.", "收款人未登记银行卡。")
    if not card.isdigit() or not 12 <= len(card) <= 19 or not luhn.is_valid(card):
        return Reason("bank-card-invalid", "The bank card number fails its check digit.", "银行卡号校验位错误。")
    return None


def mask_name(name: str) -> str:
    """For public posting (公示): 张三 → 张*, 张小三 → 张*三, 欧阳小明 → 欧**明."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def batch_shortfall_reason(fund: str, available: int, needed: int) -> Reason:
    short = needed - available
    return Reason(
        "insufficient-funds",
        f"Fund {fund} has {available} fen available; the batch needs {needed} fen ({short} fen short). "
        "Nothing was reserved; top the fund up and reserve again.",
        f"基金 {fund} 可用 {available} 分，本批需 {needed} 分，尚缺 {short} 分。未作任何预留，请补足资金后重新预留。",
    )
