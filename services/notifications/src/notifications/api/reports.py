"""Satisfaction by township (caseworkers, admins, auditors, inside their region)."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, forbidden
from notifications.api.deps import Staff
from notifications.domain.replies import TARGET_PERCENT
from notifications.service.reports import satisfaction_by_township

router = APIRouter(prefix="/v1/reports", tags=["reports"], responses=PROBLEM_RESPONSES)


class TownshipRow(BaseModel):
    township: str = Field(description="9-digit township code")
    responses: int
    satisfied: int = Field(description="Scores 4 and 5")
    percent: float
    meets_target: bool


class SatisfactionReport(BaseModel):
    region: str
    target_percent: int = TARGET_PERCENT
    townships: list[TownshipRow]


@router.get("/satisfaction", response_model=SatisfactionReport, summary="Survey satisfaction by township")
async def get_satisfaction(
    principal: Staff, uow: UowDep, region: Annotated[str | None, Query(pattern=r"^[0-9]{2,12}$")] = None
) -> SatisfactionReport:
    prefix = region or principal.region or ""
    if not principal.covers(prefix or "x") and not principal.is_service:
        raise forbidden("The region lies outside your jurisdiction.", "该区域不在您的辖区内。")
    rows = await satisfaction_by_township(uow.session, prefix)
    return SatisfactionReport(
        region=prefix,
        townships=[
            TownshipRow(
                township=r.township,
                responses=r.responses,
                satisfied=r.satisfied,
                percent=r.percent,
                meets_target=r.meets_target,
            )
            for r in rows
        ],
    )
