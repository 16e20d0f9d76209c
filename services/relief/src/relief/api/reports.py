"""Reports: money disbursed by policy, region and month; beneficiaries paid; funds' balances."""

from enum import IntEnum
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import text

from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES
from relief.api.deps import FundReader, sees_region

router = APIRouter(tags=["reports"], responses=PROBLEM_RESPONSES)

_GROUPS = {
    "policy": "policy_code",
    "region": "substr(region_code, 1, :digits)",
    "month": "to_char(settled_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')",
}


class RegionLevel(IntEnum):
    """Digits of a division code: a query string "6" is read as the level (a Literal[6, 9, 12] is not)."""

    COUNTY = 6
    TOWNSHIP = 9
    VILLAGE = 12


class DisbursedRow(BaseModel):
    policy: str | None = None
    region: str | None = None
    month: str | None = None
    payments: int
    beneficiaries: int
    amount_fen: int


class FundBalance(BaseModel):
    code: str
    name_zh: str
    posted_balance_fen: int
    reserved_fen: int
    available_fen: int


@router.get(
    "/v1/reports/disbursed",
    response_model=list[DisbursedRow],
    summary="Money paid out (net of returns), grouped by policy, region and/or month",
)
async def disbursed(
    principal: FundReader,
    uow: UowDep,
    group_by: Annotated[list[Literal["policy", "region", "month"]], Query()] = ["policy"],  # noqa: B006
    region_digits: Annotated[
        RegionLevel, Query(description="Region level: county, township, village")
    ] = RegionLevel.TOWNSHIP,
    period: str | None = None,
) -> list[DisbursedRow]:
    keys = list(dict.fromkeys(group_by))
    columns = ", ".join(f"{_GROUPS[k]} AS {k}" for k in keys)
    region = principal.region or "-"  # no region covers nothing region-bound
    rows = await uow.session.execute(
        text(
            f"SELECT {columns}, count(*) AS payments, count(DISTINCT subject_id) AS beneficiaries, "
            "sum(amount_fen)::bigint AS amount_fen FROM payments WHERE status = 'succeeded' "
            "AND region_code LIKE :region AND (CAST(:period AS varchar) IS NULL OR period = :period) "
            f"GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))} ORDER BY {', '.join(keys)}"
        ),
        {"digits": int(region_digits), "region": region + "%", "period": period},
    )
    return [DisbursedRow.model_validate(dict(r._mapping)) for r in rows]


@router.get("/v1/reports/fund-balances", response_model=list[FundBalance], summary="Every fund's balances")
async def fund_balances(principal: FundReader, uow: UowDep) -> list[FundBalance]:
    rows = await uow.session.execute(
        text(
            "SELECT f.code, f.name_zh, f.region, a.credits_posted - a.debits_posted AS posted_balance_fen, "
            "a.debits_pending AS reserved_fen, a.credits_posted - a.debits_posted - a.debits_pending AS available_fen "
            "FROM funds f JOIN ledger_accounts a ON a.code = f.account_code ORDER BY f.code"
        )
    )
    return [FundBalance.model_validate(dict(r._mapping)) for r in rows if sees_region(principal, r.region)]
