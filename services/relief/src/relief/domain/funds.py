"""Funds, their ledger accounts, donors and receipt numbers."""

from dataclasses import dataclass
from datetime import date

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from relief.domain.ledger import LedgerError

BUDGET_ACCOUNT = "income:budget"  # the county budget: allocations are debited here
DONATIONS_ACCOUNT = "income:donations"  # every donation is debited here
RELIEF_EXPENSE_ACCOUNT = "expense:relief"  # emergency relief paid


def fund_account(fund_code: str) -> str:
    return f"fund:{fund_code}"


def expense_account(policy_code: str) -> str:
    """Money paid out under one policy (a credit balance: the total disbursed)."""
    return f"expense:{policy_code}"


def receipt_number(received_on: date, sequence: int) -> str:
    """捐赠票据号: JZ + year + an 8-digit running number, e.g. JZ202600000042."""
    return f"JZ{received_on.year}{sequence:08d}"


class DonorError(LedgerError):
    pass


def checked_uscc(code: str | None) -> str:
    """The organisation's unified social credit code (统一社会信用代码), normalised, or DonorError."""
    if not code:
        raise DonorError(
            "uscc-required",
            "An organisation's donation needs its unified social credit code.",
            "单位捐赠须填写统一社会信用代码。",
        )
    try:
        return uscc.validate(code)
    except ValidationError as exc:
        raise DonorError(
            "uscc-invalid",
            f"The unified social credit code is not valid ({exc}).",
            "统一社会信用代码无效（校验位或格式错误）。",
        ) from exc


@dataclass(frozen=True)
class StatementLine:
    transfer_id: str
    on: date
    code: str
    reference: str | None
    credit: int  # money into the fund
    debit: int  # money out of the fund


@dataclass(frozen=True)
class Statement:
    opening: int
    credits: int
    debits: int
    closing: int


def statement(opening: int, lines: list[StatementLine]) -> Statement:
    credits = sum(line.credit for line in lines)
    debits = sum(line.debit for line in lines)
    return Statement(opening, credits, debits, opening + credits - debits)
