"""Funds (care fund, public-welfare fund, budget lines), allocations, donations and statements."""

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import text

from carekit.auth.deps import check_jurisdiction
from carekit.auth.principal import Principal
from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, ProblemError, not_found
from relief.api.deps import (
    FUND_CODE,
    MAX_OFFSET,
    FundManager,
    FundReader,
    TodayDep,
    WrittenDate,
    ledger_problem,
    sees_region,
)
from relief.domain.funds import donor_uscc
from relief.domain.ledger import LedgerError
from relief.service.funds import DonationIn, allocate, fund_row, fund_statement, open_fund, record_donation

router = APIRouter(tags=["funds"], responses=PROBLEM_RESPONSES)

REGION = r"^(?:[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12})$"
Fen = Annotated[int, Field(gt=0, le=10**13, description="Integer fen (1 yuan = 100 fen), positive")]


class FundBase(BaseModel):
    code: str = Field(pattern=FUND_CODE, examples=["care_fund", "FP-REWARD"])
    kind: Literal["care_fund", "public_welfare", "budget_line"]
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)
    region: str = Field(pattern=REGION, description="The county (or wider) whose fund this is")


class FundCreate(FundBase):
    pass


class FundPublic(FundBase):
    account_code: str
    available_fen: int = Field(description="Posted balance minus money reserved for payments in flight")
    posted_balance_fen: int
    reserved_fen: int


class AllocationCreate(BaseModel):
    amount_fen: Fen
    document_no: str = Field(min_length=1, max_length=64, description="The budget document (文件号)")
    allocated_on: WrittenDate | None = None


class AllocationPublic(AllocationCreate):
    id: uuid.UUID
    fund_code: str


class DonationCreate(BaseModel):
    donor_kind: Literal["organisation", "person"]
    donor_name: str = Field(min_length=1, max_length=200)
    uscc: str | None = Field(
        default=None, max_length=32, description="统一社会信用代码: required for organisations, none for persons"
    )
    amount_fen: Fen
    received_on: WrittenDate | None = None
    memo: str | None = Field(default=None, max_length=500)


class DonationPublic(DonationCreate):
    id: uuid.UUID
    fund_code: str
    receipt_no: str


class StatementLinePublic(BaseModel):
    transfer_id: uuid.UUID
    on: date
    code: str
    reference: str | None
    credit_fen: int
    debit_fen: int


class StatementPublic(BaseModel):
    fund_code: str
    start: date
    end: date
    opening_fen: int
    credits_fen: int
    debits_fen: int
    closing_fen: int
    lines: list[StatementLinePublic]


def _public(row) -> FundPublic:  # noqa: ANN001
    return FundPublic(
        code=row.code,
        kind=row.kind,
        name_zh=row.name_zh,
        name_en=row.name_en,
        region=row.region,
        account_code=row.account_code,
        available_fen=row.available,
        posted_balance_fen=row.posted_balance,
        reserved_fen=row.reserved,
    )


async def _fund(uow: UowDep, principal: Principal, code: str):  # noqa: ANN202
    row = await fund_row(uow.session, code)
    if row is None or not sees_region(principal, row.region):
        raise not_found("fund", "基金")
    return row


def _refused(exc: LedgerError) -> ProblemError:
    if exc.code == "fund-exists":
        return ProblemError(409, exc.code, "Conflict", exc.message, "冲突", exc.zh)
    return ledger_problem(exc)


@router.post("/v1/funds", response_model=FundPublic, status_code=201, summary="Open a fund or budget line")
async def create_fund(body: FundCreate, principal: FundManager, uow: UowDep) -> FundPublic:
    check_jurisdiction(principal, body.region.ljust(12, "0"), "region", "辖区")
    try:
        await open_fund(
            uow.session,
            code=body.code,
            kind=body.kind,
            name_zh=body.name_zh,
            name_en=body.name_en,
            region=body.region,
            actor=principal.sub,
        )
    except LedgerError as exc:
        raise _refused(exc) from exc
    await uow.commit()
    return _public(await fund_row(uow.session, body.code))


@router.get("/v1/funds", response_model=list[FundPublic], summary="Funds in your region with their balances")
async def list_funds(principal: FundReader, uow: UowDep) -> list[FundPublic]:
    codes = (await uow.session.execute(text("SELECT code FROM funds ORDER BY code"))).scalars().all()
    rows = [await fund_row(uow.session, c) for c in codes]
    return [_public(r) for r in rows if sees_region(principal, r.region)]


@router.get("/v1/funds/{code}", response_model=FundPublic, summary="One fund and its balances")
async def get_fund(code: str, principal: FundReader, uow: UowDep) -> FundPublic:
    return _public(await _fund(uow, principal, code))


@router.post(
    "/v1/funds/{code}/allocations",
    response_model=AllocationPublic,
    status_code=201,
    summary="Record a budget allocation into the fund",
)
async def create_allocation(
    code: str, body: AllocationCreate, principal: FundManager, uow: UowDep, today: TodayDep
) -> AllocationPublic:
    fund = await _fund(uow, principal, code)
    on = body.allocated_on or today
    try:
        allocation_id = await allocate(
            uow.session,
            fund=code,
            region=fund.region,
            amount_fen=body.amount_fen,
            document_no=body.document_no,
            allocated_on=on,
            actor=principal.sub,
        )
    except LedgerError as exc:
        raise ledger_problem(exc) from exc
    await uow.commit()
    return AllocationPublic(
        id=allocation_id, fund_code=code, amount_fen=body.amount_fen, document_no=body.document_no, allocated_on=on
    )


@router.post(
    "/v1/funds/{code}/donations",
    response_model=DonationPublic,
    status_code=201,
    summary="Record a donation and issue its receipt number",
)
async def create_donation(
    code: str, body: DonationCreate, principal: FundManager, uow: UowDep, today: TodayDep
) -> DonationPublic:
    fund = await _fund(uow, principal, code)
    try:
        uscc = donor_uscc(body.donor_kind, body.uscc)
        donation = DonationIn(
            code,
            fund.region,
            body.donor_kind,
            body.donor_name,
            uscc,
            body.amount_fen,
            body.received_on or today,
            body.memo,
        )
        donation_id, receipt = await record_donation(uow.session, donation, principal.sub)
    except LedgerError as exc:
        raise ledger_problem(exc) from exc
    await uow.commit()
    return DonationPublic(
        **body.model_dump() | {"uscc": uscc, "received_on": donation.received_on},
        id=donation_id,
        fund_code=code,
        receipt_no=receipt,
    )


@router.get("/v1/funds/{code}/donations", response_model=list[DonationPublic], summary="Donations to a fund")
async def list_donations(
    code: str,
    principal: FundReader,
    uow: UowDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[DonationPublic]:
    await _fund(uow, principal, code)
    rows = await uow.session.execute(
        text(
            "SELECT id, receipt_no, fund_code, donor_kind, donor_name, uscc, amount_fen, received_on, memo "
            "FROM donations WHERE fund_code = :c ORDER BY received_on, receipt_no LIMIT :l OFFSET :o"
        ),
        {"c": code, "l": limit, "o": offset},
    )
    return [DonationPublic.model_validate(dict(r._mapping)) for r in rows]


@router.get(
    "/v1/funds/{code}/statement",
    response_model=StatementPublic,
    summary="Opening balance, posted movements and closing balance for a period",
)
async def get_statement(
    code: str,
    principal: FundReader,
    uow: UowDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> StatementPublic:
    await _fund(uow, principal, code)
    if end < start:
        raise ProblemError(
            422, "bad-period", "Bad period", "`to` must not be before `from`.", "期间无效", "结束日期不能早于开始日期。"
        )
    summary, lines = await fund_statement(uow.session, code, start, end)
    return StatementPublic(
        fund_code=code,
        start=start,
        end=end,
        opening_fen=summary.opening,
        credits_fen=summary.credits,
        debits_fen=summary.debits,
        closing_fen=summary.closing,
        lines=[
            StatementLinePublic(
                transfer_id=ln.transfer_id,
                on=ln.on,
                code=ln.code,
                reference=ln.reference,
                credit_fen=ln.credit,
                debit_fen=ln.debit,
            )
            for ln in lines
        ],
    )
