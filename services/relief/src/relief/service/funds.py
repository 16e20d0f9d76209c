"""Funds and income: opening funds, budget allocations, donations with receipts, statements."""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from relief.domain.funds import (
    Statement,
    StatementLine,
    budget_account,
    donations_account,
    fund_account,
    receipt_number,
    statement,
)
from relief.domain.ledger import LedgerError, Transfer
from relief.service.ledger import create_transfer, ensure_account


async def ensure_income_accounts(session: AsyncSession, region: str) -> None:
    await ensure_account(
        session,
        budget_account(region),
        "income",
        f"财政预算拨款 {region}",
        f"Budget allocations {region}",
        region=region,
    )
    await ensure_account(
        session, donations_account(region), "income", f"社会捐赠 {region}", f"Donations {region}", region=region
    )


async def open_fund(
    session: AsyncSession, *, code: str, kind: str, name_zh: str, name_en: str, region: str, actor: str
) -> None:
    await ensure_income_accounts(session, region)
    account = fund_account(code)
    exists = await session.execute(text("SELECT 1 FROM funds WHERE code = :c"), {"c": code})
    if exists.first():
        raise LedgerError("fund-exists", f"A fund with code {code} already exists.", f"基金代码 {code} 已存在。")
    await ensure_account(session, account, "fund", name_zh, name_en, guarded=True, region=region)
    await session.execute(
        text(
            "INSERT INTO funds (code, kind, name_zh, name_en, region, account_code, created_by) "
            "VALUES (:code, :kind, :zh, :en, :region, :account, :actor)"
        ),
        {
            "code": code,
            "kind": kind,
            "zh": name_zh,
            "en": name_en,
            "region": region,
            "account": account,
            "actor": actor,
        },
    )


async def fund_row(session: AsyncSession, code: str):  # noqa: ANN201 - a Row or None
    return (
        await session.execute(
            text(
                "SELECT f.*, a.credits_posted - a.debits_posted - a.debits_pending AS available, "
                "a.credits_posted - a.debits_posted AS posted_balance, a.debits_pending AS reserved "
                "FROM funds f JOIN ledger_accounts a ON a.code = f.account_code WHERE f.code = :c"
            ),
            {"c": code},
        )
    ).first()


async def allocate(
    session: AsyncSession,
    *,
    fund: str,
    region: str,
    amount_fen: int,
    document_no: str,
    allocated_on: date,
    actor: str,
) -> uuid.UUID:
    """From the budget of the fund's region (opened here for a fund older than regional accounts)."""
    allocation_id = uuid.uuid4()
    await ensure_income_accounts(session, region)
    await create_transfer(
        session,
        Transfer(
            str(allocation_id),
            budget_account(region),
            fund_account(fund),
            amount_fen,
            code="allocation",
            reference=document_no,
        ),
    )
    await session.execute(
        text(
            "INSERT INTO allocations (id, fund_code, amount_fen, document_no, allocated_on, transfer_id, recorded_by) "
            "VALUES (:id, :fund, :amount, :doc, :on, :id, :actor)"
        ),
        {
            "id": allocation_id,
            "fund": fund,
            "amount": amount_fen,
            "doc": document_no,
            "on": allocated_on,
            "actor": actor,
        },
    )
    return allocation_id


@dataclass(frozen=True)
class DonationIn:
    fund: str
    region: str
    donor_kind: str
    donor_name: str
    uscc: str | None
    amount_fen: int
    received_on: date
    memo: str | None


async def record_donation(session: AsyncSession, donation: DonationIn, actor: str) -> tuple[uuid.UUID, str]:
    donation_id = uuid.uuid4()
    sequence = (await session.execute(text("SELECT nextval('donation_receipt_seq')"))).scalar_one()
    receipt = receipt_number(donation.received_on, sequence)
    await ensure_income_accounts(session, donation.region)
    await create_transfer(
        session,
        Transfer(
            str(donation_id),
            donations_account(donation.region),
            fund_account(donation.fund),
            donation.amount_fen,
            code="donation",
            reference=receipt,
        ),
    )
    await session.execute(
        text(
            "INSERT INTO donations (id, receipt_no, fund_code, donor_kind, donor_name, uscc, amount_fen, received_on, "
            "memo, transfer_id, recorded_by) VALUES (:id, :receipt, :fund, :kind, :name, :uscc, :amount, :on, :memo, "
            ":id, :actor)"
        ),
        {
            "id": donation_id,
            "receipt": receipt,
            "fund": donation.fund,
            "kind": donation.donor_kind,
            "name": donation.donor_name,
            "uscc": donation.uscc,
            "amount": donation.amount_fen,
            "on": donation.received_on,
            "memo": donation.memo,
            "actor": actor,
        },
    )
    return donation_id, receipt


# Posted movements of a fund account (single-phase and posted second phases), by China civil date.
_MOVEMENTS = """
SELECT t.id, t.seq, (t.created_at AT TIME ZONE 'Asia/Shanghai')::date AS on_date, t.code, t.reference,
       CASE WHEN t.credit_account = :account THEN t.amount ELSE 0 END AS credit,
       CASE WHEN t.debit_account = :account THEN t.amount ELSE 0 END AS debit
FROM ledger_transfers t
WHERE (t.debit_account = :account OR t.credit_account = :account) AND t.kind IN ('posted', 'post_pending')
"""


async def fund_statement(
    session: AsyncSession,
    fund: str,
    start: date,
    end: date,
) -> tuple[Statement, list[StatementLine]]:
    account = fund_account(fund)
    opening = (
        await session.execute(
            text(f"SELECT coalesce(sum(credit - debit), 0) FROM ({_MOVEMENTS}) m WHERE on_date < :start"),
            {"account": account, "start": start},
        )
    ).scalar_one()
    rows = await session.execute(
        text(f"SELECT * FROM ({_MOVEMENTS}) m WHERE on_date BETWEEN :start AND :end ORDER BY seq"),
        {"account": account, "start": start, "end": end},
    )
    lines = [StatementLine(str(r.id), r.on_date, r.code, r.reference, r.credit, r.debit) for r in rows]
    return statement(int(opening), lines), lines
