"""Funds, their ledger accounts, donors and receipt numbers."""

from dataclasses import dataclass
from datetime import date

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from relief.domain.ledger import LedgerError

# The income and expense accounts are kept per region, the region of the fund they feed or pay from
# (`income:budget:360702`): a county's staff see its own, never another county's money. Accounts named
# without a region (`income:budget`) are those of the ledger before regions; they are left as they were.


def _regional(code: str, region: str | None) -> str:
    return f"{code}:{region}" if region else code


def budget_account(region: str | None) -> str:
    """The region's budget: allocations to its funds are debited here."""
    return _regional("income:budget", region)


def donations_account(region: str | None) -> str:
    """Donations to the region's funds are debited here."""
    return _regional("income:donations", region)


def relief_expense_account(region: str | None) -> str:
    """Emergency relief paid from the region's funds."""
    return _regional("expense:relief", region)


def fund_account(fund_code: str) -> str:
    return f"fund:{fund_code}"


def expense_account(policy_code: str, region: str | None) -> str:
    """Money paid out under one policy from the region's funds (a credit balance: the total disbursed)."""
    return _regional(f"expense:{policy_code}", region)


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
            "An organisation's donation needs its unified social credit code (uscc).",
            "单位捐赠须填写统一社会信用代码。",
        )
    try:
        return uscc.validate(code)
    except ValidationError as exc:
        raise DonorError(
            "uscc-invalid",
            f"The unified social credit code (uscc) is not valid ({exc}).",
            "统一社会信用代码无效（校验位或格式错误）。",
        ) from exc


def donor_uscc(donor_kind: str, code: str | None) -> str | None:
    """An organisation's code, checked; a person has none."""
    if donor_kind == "organisation":
        return checked_uscc(code)
    if code:
        raise DonorError(
            "uscc-not-for-persons",
            "A person's donation carries no unified social credit code (uscc).",
            "个人捐赠不填写统一社会信用代码（uscc）。",
        )
    return None


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
