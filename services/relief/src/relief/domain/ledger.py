"""Double-entry ledger rules in the style of TigerBeetle: accounts, transfers, two-phase money.

Every transfer moves `amount` fen from a debit account to a credit account. A *pending* transfer
reserves the money (it counts in `debits_pending`/`credits_pending`); exactly one *post* or *void*
transfer later resolves it (post moves the amount to the posted columns, void releases it). A fund
account carries `debits_must_not_exceed_credits`: its available balance
(credits_posted − debits_posted − debits_pending) never goes below zero. Transfers are immutable and
carry client-supplied ids, so a retry with the same id and body is the same transfer, and a retry
with the same id and another body is refused.
"""

from dataclasses import dataclass, replace
from enum import StrEnum


class TransferKind(StrEnum):
    POSTED = "posted"  # single-phase: moves money at once
    PENDING = "pending"  # first phase: reserves money
    POST_PENDING = "post_pending"  # second phase: the pending amount moves
    VOID_PENDING = "void_pending"  # second phase: the reservation is released


SECOND_PHASE = (TransferKind.POST_PENDING, TransferKind.VOID_PENDING)


class LedgerError(Exception):
    """A transfer the ledger refuses; `code` is a stable slug, `zh` a Chinese message."""

    def __init__(self, code: str, message: str, zh: str) -> None:
        super().__init__(message)
        self.code, self.message, self.zh = code, message, zh


@dataclass(frozen=True)
class Balance:
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    @property
    def available(self) -> int:
        """What a fund may still spend: posted credits − posted debits − pending debits."""
        return self.credits_posted - self.debits_posted - self.debits_pending

    @property
    def posted(self) -> int:
        return self.credits_posted - self.debits_posted


@dataclass(frozen=True)
class Account:
    code: str
    debits_must_not_exceed_credits: bool = False
    balance: Balance = Balance()


@dataclass(frozen=True)
class Transfer:
    id: str
    debit_account: str
    credit_account: str
    amount: int
    kind: TransferKind = TransferKind.POSTED
    pending_id: str | None = None
    code: str = "transfer"
    reference: str | None = None

    def same_body(self, other: "Transfer") -> bool:
        """Idempotency: a transfer re-sent with the same id must carry exactly the same body."""
        return self == replace(other, id=self.id)


def validate(transfer: Transfer) -> None:
    """Rules that need no balances."""
    if transfer.amount <= 0:
        raise LedgerError(
            "amount-not-positive", "The amount must be a positive number of fen.", "金额必须为正整数（分）。"
        )
    if transfer.debit_account == transfer.credit_account:
        raise LedgerError("same-account", "Debit and credit accounts must differ.", "借方账户与贷方账户不能相同。")
    second_phase = transfer.kind in SECOND_PHASE
    if second_phase != (transfer.pending_id is not None):
        raise LedgerError(
            "pending-id",
            "Only a post or void names a pending transfer, and it must name one.",
            "只有过账或撤销操作须指明一笔待定转账。",
        )


def resolve(pending: Transfer, second: Transfer, already_resolved: bool) -> None:
    """A post or void must match its pending transfer exactly and be the only one."""
    if pending.kind != TransferKind.PENDING:
        raise LedgerError("not-pending", "The referenced transfer is not pending.", "所引用的转账不是待定转账。")
    if already_resolved:
        raise LedgerError(
            "pending-already-resolved",
            "This pending transfer was already posted or voided.",
            "该待定转账已过账或撤销。",
        )
    if (second.debit_account, second.credit_account, second.amount) != (
        pending.debit_account,
        pending.credit_account,
        pending.amount,
    ):
        raise LedgerError(
            "pending-mismatch",
            "Accounts and amount must equal the pending transfer's.",
            "账户与金额必须与待定转账一致。",
        )


def _apply_debit(balance: Balance, kind: TransferKind, amount: int) -> Balance:
    if kind == TransferKind.POSTED:
        return replace(balance, debits_posted=balance.debits_posted + amount)
    if kind == TransferKind.PENDING:
        return replace(balance, debits_pending=balance.debits_pending + amount)
    released = replace(balance, debits_pending=balance.debits_pending - amount)
    if kind == TransferKind.POST_PENDING:
        return replace(released, debits_posted=released.debits_posted + amount)
    return released


def _apply_credit(balance: Balance, kind: TransferKind, amount: int) -> Balance:
    if kind == TransferKind.POSTED:
        return replace(balance, credits_posted=balance.credits_posted + amount)
    if kind == TransferKind.PENDING:
        return replace(balance, credits_pending=balance.credits_pending + amount)
    released = replace(balance, credits_pending=balance.credits_pending - amount)
    if kind == TransferKind.POST_PENDING:
        return replace(released, credits_posted=released.credits_posted + amount)
    return released


def apply(debit: Account, credit: Account, transfer: Transfer) -> tuple[Account, Account]:
    """The two accounts after the transfer, or LedgerError if a fund would be overdrawn."""
    validate(transfer)
    new_debit = replace(debit, balance=_apply_debit(debit.balance, transfer.kind, transfer.amount))
    new_credit = replace(credit, balance=_apply_credit(credit.balance, transfer.kind, transfer.amount))
    ensure_not_overdrawn(new_debit, transfer.amount)
    return new_debit, new_credit


def ensure_not_overdrawn(account: Account, needed: int) -> None:
    if account.debits_must_not_exceed_credits and account.balance.available < 0:
        short = -account.balance.available
        raise LedgerError(
            "insufficient-funds",
            f"Account {account.code} is short of {short} fen for this amount of {needed} fen.",
            f"账户 {account.code} 余额不足：本次需 {needed} 分，尚缺 {short} 分。",
        )


def replay(code: str, transfers: list[Transfer]) -> Balance:
    """The balance of one account rebuilt from the journal (what the invariant check compares with)."""
    balance = Balance()
    for t in transfers:
        if t.debit_account == code:
            balance = _apply_debit(balance, t.kind, t.amount)
        if t.credit_account == code:
            balance = _apply_credit(balance, t.kind, t.amount)
    return balance


def reservation_shortfall(available: int, amounts: list[int]) -> int:
    """How many fen a fund lacks to reserve all `amounts` at once (0 when it can)."""
    return max(0, sum(amounts) - available)
