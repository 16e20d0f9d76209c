"""The ledger on PostgreSQL: transfers and balances change in one transaction, accounts row-locked.

Two paths: `create_transfer` for one transfer (idempotent on its client-supplied id) and the
set-based `reserve_many` / `settle_many` for batches (one INSERT … SELECT FROM unnest, one lock of
the fund). The CHECK constraints on `ledger_accounts` back both up.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from relief.domain.ledger import (
    SECOND_PHASE,
    Account,
    Balance,
    LedgerError,
    Transfer,
    TransferKind,
    apply,
    resolve,
    validate,
)

SETTLEMENT_NAMESPACE = uuid.UUID("6f1d8f0e-3c55-4b8e-9a55-0c8a7a1d2e11")
_BALANCE_COLUMNS = "debits_pending, debits_posted, credits_pending, credits_posted"


def settlement_id(pending_id: uuid.UUID | str, kind: TransferKind) -> uuid.UUID:
    """The id of the post or void of a pending transfer: stable, so a repeated settlement is a no-op."""
    return uuid.uuid5(SETTLEMENT_NAMESPACE, f"{pending_id}:{kind.value}")


async def ensure_account(
    session: AsyncSession,
    code: str,
    kind: str,
    name_zh: str,
    name_en: str,
    *,
    guarded: bool = False,
    region: str | None = None,
) -> None:
    """Open the account unless it exists. `region`: whose staff see it (None: nobody's but services')."""
    await session.execute(
        text(
            "INSERT INTO ledger_accounts (code, kind, name_zh, name_en, debits_must_not_exceed_credits, region) "
            "VALUES (:code, :kind, :zh, :en, :guarded, :region) ON CONFLICT (code) DO NOTHING"
        ),
        {"code": code, "kind": kind, "zh": name_zh, "en": name_en, "guarded": guarded, "region": region},
    )


async def account_region(session: AsyncSession, code: str) -> str | None:
    return (await session.execute(text("SELECT region FROM ledger_accounts WHERE code = :c"), {"c": code})).scalar()


def _account(row) -> Account:  # noqa: ANN001 - a Row
    return Account(
        row.code,
        row.debits_must_not_exceed_credits,
        Balance(row.debits_pending, row.debits_posted, row.credits_pending, row.credits_posted),
    )


async def _lock_accounts(session: AsyncSession, codes: Sequence[str]) -> dict[str, Account]:
    """Row locks in code order, so that two transfers over the same accounts never deadlock. NO KEY UPDATE:
    the foreign-key checks of concurrent transfer inserts (KEY SHARE) are not blocked by it."""
    rows = await session.execute(
        text(
            f"SELECT code, debits_must_not_exceed_credits, {_BALANCE_COLUMNS} FROM ledger_accounts "
            "WHERE code = ANY(:codes) ORDER BY code FOR NO KEY UPDATE"
        ),
        {"codes": sorted(set(codes))},
    )
    accounts = {r.code: _account(r) for r in rows}
    missing = sorted(set(codes) - accounts.keys())
    if missing:
        raise LedgerError(
            "unknown-account", f"No such account: {', '.join(missing)}.", f"账户不存在：{'、'.join(missing)}。"
        )
    return accounts


def _transfer(row) -> Transfer:  # noqa: ANN001 - a Row
    return Transfer(
        str(row.id),
        row.debit_account,
        row.credit_account,
        row.amount,
        TransferKind(row.kind),
        str(row.pending_id) if row.pending_id else None,
        row.code,
        row.reference,
    )


async def get_transfer(session: AsyncSession, transfer_id: str) -> Transfer | None:
    row = (
        await session.execute(
            text(
                "SELECT id, debit_account, credit_account, amount, kind, pending_id, code, reference "
                "FROM ledger_transfers WHERE id = :id"
            ),
            {"id": transfer_id},
        )
    ).first()
    return _transfer(row) if row else None


async def _is_resolved(session: AsyncSession, pending_id: str) -> bool:
    found = await session.execute(text("SELECT 1 FROM ledger_transfers WHERE pending_id = :p"), {"p": pending_id})
    return found.first() is not None


async def _write_balance(session: AsyncSession, account: Account) -> None:
    b = account.balance
    await session.execute(
        text(
            "UPDATE ledger_accounts SET debits_pending = :dp, debits_posted = :dpo, credits_pending = :cp, "
            "credits_posted = :cpo WHERE code = :code"
        ),
        {
            "dp": b.debits_pending,
            "dpo": b.debits_posted,
            "cp": b.credits_pending,
            "cpo": b.credits_posted,
            "code": account.code,
        },
    )


def _reused(existing: Transfer) -> LedgerError:
    return LedgerError(
        "transfer-id-reused",
        f"Transfer {existing.id} already exists with a different body; use a new id.",
        f"转账编号 {existing.id} 已用于内容不同的转账，请使用新编号。",
    )


@dataclass(frozen=True)
class TransferResult:
    transfer: Transfer
    created: bool


async def create_transfer(session: AsyncSession, transfer: Transfer) -> TransferResult:
    """One transfer; the caller commits. Same id + same body → the stored transfer, unchanged."""
    validate(transfer)
    accounts = await _lock_accounts(session, [transfer.debit_account, transfer.credit_account])
    existing = await get_transfer(session, transfer.id)
    if existing is not None:
        if not existing.same_body(transfer):
            raise _reused(existing)
        return TransferResult(existing, created=False)
    if transfer.kind in SECOND_PHASE:
        pending = await get_transfer(session, transfer.pending_id or "")
        if pending is None:
            raise LedgerError("pending-not-found", "The pending transfer does not exist.", "待定转账不存在。")
        resolve(pending, transfer, await _is_resolved(session, pending.id))
    debit, credit = apply(accounts[transfer.debit_account], accounts[transfer.credit_account], transfer)
    inserted = await session.execute(
        text(
            "INSERT INTO ledger_transfers (id, debit_account, credit_account, amount, kind, pending_id, code, "
            "reference) "
            "VALUES (:id, :debit, :credit, :amount, :kind, :pending_id, :code, :reference) "
            "ON CONFLICT (id) DO NOTHING RETURNING id"
        ),
        {
            "id": transfer.id,
            "debit": transfer.debit_account,
            "credit": transfer.credit_account,
            "amount": transfer.amount,
            "kind": transfer.kind.value,
            "pending_id": transfer.pending_id,
            "code": transfer.code,
            "reference": transfer.reference,
        },
    )
    if inserted.first() is None:  # the same id landed meanwhile on other accounts
        raced = await get_transfer(session, transfer.id)
        if raced is None or not raced.same_body(transfer):
            raise _reused(raced or transfer)
        return TransferResult(raced, created=False)
    await _write_balance(session, debit)
    await _write_balance(session, credit)
    return TransferResult(transfer, created=True)


@dataclass(frozen=True)
class Reservation:
    transfer_id: uuid.UUID
    credit_account: str
    amount: int
    reference: str


async def available(session: AsyncSession, code: str, *, lock: bool = False) -> int:
    row = (
        await session.execute(
            text(
                "SELECT credits_posted - debits_posted - debits_pending FROM ledger_accounts WHERE code = :c"
                + (" FOR NO KEY UPDATE" if lock else "")
            ),
            {"c": code},
        )
    ).first()
    if row is None:
        raise LedgerError("unknown-account", f"No such account: {code}.", f"账户不存在：{code}。")
    return int(row[0])


async def _ensure_available(session: AsyncSession, fund: str, total: int) -> None:
    free = await available(session, fund)
    if total > free:
        raise LedgerError(
            "insufficient-funds",
            f"Fund {fund} has {free} fen available but the batch needs {total} fen "
            f"({total - free} fen short). Nothing was reserved.",
            f"资金账户 {fund} 可用 {free} 分，本批需 {total} 分，尚缺 {total - free} 分。未作任何预留。",
        )


async def reserve_selected(
    session: AsyncSession, fund: str, credit_account: str, source: str, params: dict, code: str, *, writes: str = ""
) -> int:
    """All-or-nothing like `reserve_many`, for rows a query yields as (id, amount, reference): the
    transfers are written by one INSERT … SELECT inside PostgreSQL, nothing travels through Python.

    `writes` are WITH items the source may read, e.g. `written AS (INSERT … RETURNING …)`: what they write
    goes in with the transfers, in one statement, and both are undone (back to a savepoint) when the fund
    is short."""
    await _lock_accounts(session, [fund, credit_account])
    savepoint = await session.begin_nested()
    total = (
        await session.execute(
            text(
                f"WITH {writes + ', ' if writes else ''}s AS ({source}), t AS ("
                "INSERT INTO ledger_transfers (id, debit_account, credit_account, amount, kind, code, reference) "
                "SELECT s.id, :fund, :credit, s.amount, 'pending', :code, s.reference FROM s RETURNING amount) "
                "SELECT coalesce(sum(amount), 0)::bigint FROM t"
            ),
            {**params, "fund": fund, "credit": credit_account, "code": code},
        )
    ).scalar_one()
    try:
        await _ensure_available(session, fund, total)
    except LedgerError:
        await savepoint.rollback()
        raise
    await savepoint.commit()
    await _add(session, {fund: (total, 0, 0, 0), credit_account: (0, 0, total, 0)})
    return total


async def reserve_many(session: AsyncSession, fund: str, items: Sequence[Reservation], code: str) -> int:
    """All-or-nothing: pending transfers from `fund` for every item, under one lock of the fund."""
    if any(item.amount <= 0 for item in items):
        raise LedgerError(
            "amount-not-positive", "Every amount must be a positive number of fen.", "每笔金额都必须为正整数（分）。"
        )
    total = sum(item.amount for item in items)
    credits = sorted({item.credit_account for item in items})
    await _lock_accounts(session, [fund, *credits])
    await _ensure_available(session, fund, total)
    await session.execute(
        text(
            "INSERT INTO ledger_transfers (id, debit_account, credit_account, amount, kind, code, reference) "
            "SELECT t.id, :fund, t.credit, t.amount, 'pending', :code, t.ref "
            "FROM unnest(CAST(:ids AS uuid[]), CAST(:credits AS varchar[]), CAST(:amounts AS bigint[]), "
            "CAST(:refs AS varchar[])) AS t(id, credit, amount, ref)"
        ),
        {
            "fund": fund,
            "code": code,
            "ids": [i.transfer_id for i in items],
            "credits": [i.credit_account for i in items],
            "amounts": [i.amount for i in items],
            "refs": [i.reference for i in items],
        },
    )
    per_credit: dict[str, int] = {}
    for item in items:
        per_credit[item.credit_account] = per_credit.get(item.credit_account, 0) + item.amount
    await _add(session, {fund: (total, 0, 0, 0), **{c: (0, 0, a, 0) for c, a in per_credit.items()}})
    return total


async def _add(session: AsyncSession, deltas: dict[str, tuple[int, int, int, int]]) -> None:
    """Add (debits_pending, debits_posted, credits_pending, credits_posted) deltas to accounts."""
    if not deltas:
        return
    codes = list(deltas)
    await session.execute(
        text(
            "UPDATE ledger_accounts a SET debits_pending = a.debits_pending + d.dp, "
            "debits_posted = a.debits_posted + d.dpo, credits_pending = a.credits_pending + d.cp, "
            "credits_posted = a.credits_posted + d.cpo "
            "FROM unnest(CAST(:codes AS varchar[]), CAST(:dp AS bigint[]), CAST(:dpo AS bigint[]), "
            "CAST(:cp AS bigint[]), CAST(:cpo AS bigint[])) AS d(code, dp, dpo, cp, cpo) WHERE a.code = d.code"
        ),
        {
            "codes": codes,
            "dp": [deltas[c][0] for c in codes],
            "dpo": [deltas[c][1] for c in codes],
            "cp": [deltas[c][2] for c in codes],
            "cpo": [deltas[c][3] for c in codes],
        },
    )


_SETTLE = text("""
WITH req AS (
    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:pending AS uuid[]), CAST(:kinds AS varchar[]))
        AS r(id, pending_id, kind)
), ins AS (
    INSERT INTO ledger_transfers (id, debit_account, credit_account, amount, kind, pending_id, code, reference)
    SELECT r.id, p.debit_account, p.credit_account,
           p.amount, r.kind, p.id, :code, p.reference
    FROM req r JOIN ledger_transfers p ON p.id = r.pending_id AND p.kind = 'pending'
    ON CONFLICT DO NOTHING
    RETURNING pending_id, debit_account, credit_account, amount, kind
)
SELECT debit_account, credit_account, kind, sum(amount) AS amount, array_agg(pending_id) AS ids
FROM ins GROUP BY debit_account, credit_account, kind
""")


async def settle_many(session: AsyncSession, outcomes: dict[uuid.UUID, TransferKind], code: str) -> set[uuid.UUID]:
    """Post or void pending transfers in one statement; returns the ids settled now (not before)."""
    if not outcomes:
        return set()
    pending = list(outcomes)
    rows = await session.execute(
        _SETTLE,
        {
            "ids": [settlement_id(p, outcomes[p]) for p in pending],
            "pending": pending,
            "kinds": [outcomes[p].value for p in pending],
            "code": code,
        },
    )
    deltas: dict[str, list[int]] = {}
    settled: set[uuid.UUID] = set()
    for row in rows:
        posted = row.amount if row.kind == TransferKind.POST_PENDING else 0
        d = deltas.setdefault(row.debit_account, [0, 0, 0, 0])
        d[0] -= row.amount
        d[1] += posted
        c = deltas.setdefault(row.credit_account, [0, 0, 0, 0])
        c[2] -= row.amount
        c[3] += posted
        settled.update(row.ids)
    # a settlement needs no balance check, so the accounts are locked only now, for the shortest time
    await _lock_accounts(session, list(deltas))
    await _add(session, {k: (v[0], v[1], v[2], v[3]) for k, v in deltas.items()})
    return settled


async def reverse_many(session: AsyncSession, items: Sequence[tuple[uuid.UUID, str, str, int, str]], code: str) -> int:
    """Posted transfers (id, debit, credit, amount, reference) that give money back, idempotent on id."""
    if not items:
        return 0
    rows = await session.execute(
        text(
            "WITH ins AS (INSERT INTO ledger_transfers "
            "(id, debit_account, credit_account, amount, kind, code, reference) "
            "SELECT t.id, t.debit, t.credit, t.amount, 'posted', :code, t.ref FROM unnest(CAST(:ids AS uuid[]), "
            "CAST(:debits AS varchar[]), CAST(:credits AS varchar[]), CAST(:amounts AS bigint[]), "
            "CAST(:refs AS varchar[])) AS t(id, debit, credit, amount, ref) ON CONFLICT DO NOTHING "
            "RETURNING debit_account, credit_account, amount) "
            "SELECT debit_account, credit_account, sum(amount)::bigint AS amount FROM ins GROUP BY 1, 2"
        ),
        {
            "code": code,
            "ids": [i[0] for i in items],
            "debits": [i[1] for i in items],
            "credits": [i[2] for i in items],
            "amounts": [i[3] for i in items],
            "refs": [i[4] for i in items],
        },
    )
    deltas: dict[str, list[int]] = {}
    total = 0
    for row in rows:
        deltas.setdefault(row.debit_account, [0, 0, 0, 0])[1] += row.amount
        deltas.setdefault(row.credit_account, [0, 0, 0, 0])[3] += row.amount
        total += row.amount
    await _lock_accounts(session, list(deltas))
    await _add(session, {k: (v[0], v[1], v[2], v[3]) for k, v in deltas.items()})
    return total
