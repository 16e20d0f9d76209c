"""Reconciliation against the provider's daily statement or a bank result file."""

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, StrictBool
from sqlalchemy import text

from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, ProblemError, not_found
from relief.adapters.payments.bank_file import parse_result_file
from relief.adapters.payments.base import ProviderRejected, ProviderTimeout
from relief.api.deps import LedgerReader, TodayDep, WrittenDate, scope_region, sees_region
from relief.domain.reconciliation import Theirs
from relief.service import reconciliation

router = APIRouter(tags=["reconciliations"], responses=PROBLEM_RESPONSES)


class ReconciliationCreate(BaseModel):
    day: WrittenDate | None = None
    source: Literal["provider_statement"] = "provider_statement"
    apply: StrictBool = False  # true or false, not 0 or "yes"


class ReconciliationPublic(BaseModel):
    id: uuid.UUID
    day: date
    source: str
    matched: int
    missing: list[dict]
    extra: list[dict]
    different: list[dict]
    applied: int


def _public(run_id: uuid.UUID, day: date, source: str, result, applied: int) -> ReconciliationPublic:  # noqa: ANN001
    return ReconciliationPublic(
        id=run_id,
        day=day,
        source=source,
        matched=result.matched,
        missing=result.missing,
        extra=result.extra,
        different=result.different,
        applied=applied,
    )


@router.post(
    "/v1/reconciliations",
    response_model=ReconciliationPublic,
    status_code=201,
    summary="Reconcile a day's provider statement with our payments (missing, extra, different)",
    responses={502: PROBLEM_RESPONSES[422] | {"description": "The provider's statement could not be fetched"}},
)
async def reconcile_statement(
    body: ReconciliationCreate, principal: LedgerReader, uow: UowDep, today: TodayDep, request: Request
) -> ReconciliationPublic:
    """With `apply: true` (fund managers), differing payments take the provider's final state
    (e.g. a return whose callback never came), through the same path as a callback."""
    day = body.day or today
    try:
        lines = await request.app.state.payment_provider.statement(day)
    except (ProviderTimeout, ProviderRejected) as exc:
        raise ProblemError(
            502,
            "provider-unavailable",
            "Provider unavailable",
            f"The statement could not be fetched: {exc}. Try again later.",
            "支付机构不可用",
            "未能获取对账单，请稍后重试。",
        ) from exc
    theirs = [Theirs(ln.end_to_end_id, ln.state, ln.amount_fen) for ln in lines]
    apply = body.apply and principal.has_any("fund_manager")
    run_id, result, applied = await reconciliation.run(
        uow,
        theirs=theirs,
        day=day,
        source=body.source,
        actor=principal.sub,
        apply=apply,
        statement=True,
        region=scope_region(principal),
    )
    await uow.commit()
    return _public(run_id, day, body.source, result, applied)


@router.post(
    "/v1/reconciliations/result-files",
    response_model=ReconciliationPublic,
    status_code=201,
    summary="Reconcile a bank result file (the bank-file channel) with our payments",
)
async def reconcile_result_file(
    principal: LedgerReader,
    uow: UowDep,
    today: TodayDep,
    content: Annotated[bytes, Body(media_type="text/csv")] = b"",
    apply: Annotated[bool, Query()] = False,
) -> ReconciliationPublic:
    try:
        statuses = parse_result_file(content)
    except ValueError as exc:
        raise ProblemError(
            422, "bad-result-file", "Bad result file", str(exc), "结果文件无效", "银行结果文件格式或汇总行不正确。"
        ) from exc
    theirs = [Theirs(s.end_to_end_id, s.state, None) for s in statuses]
    run_id, result, applied = await reconciliation.run(
        uow,
        theirs=theirs,
        day=today,
        source="bank_result_file",
        actor=principal.sub,
        apply=apply and principal.has_any("fund_manager"),
        statement=False,
        region=scope_region(principal),
    )
    await uow.commit()
    return _public(run_id, today, "bank_result_file", result, applied)


# `:uuid`: the path of the result files is no run id (405 there names POST alone in Allow)
@router.get("/v1/reconciliations/{run_id:uuid}", response_model=ReconciliationPublic, summary="One reconciliation run")
async def get_reconciliation(run_id: uuid.UUID, principal: LedgerReader, uow: UowDep) -> ReconciliationPublic:
    row = (await uow.session.execute(text("SELECT * FROM reconciliations WHERE id = :id"), {"id": run_id})).first()
    if row is None or not sees_region(principal, row.region):
        raise not_found("reconciliation", "对账记录")
    items = row.items
    return ReconciliationPublic(
        id=row.id,
        day=row.day,
        source=row.source,
        matched=row.matched,
        missing=items["missing"],
        extra=items["extra"],
        different=items["different"],
        applied=items.get("applied", 0),
    )
