"""Payment batches: status, re-reservation, approval by a fund manager, payments, public disclosure."""

import csv
import io
import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import text

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, ProblemError, not_found
from relief.api.deps import FundManager, FundReader, TodayDep, sees_region
from relief.service.batches import BatchError, approve_batch, reserve_batch

router = APIRouter(tags=["batches"], responses=PROBLEM_RESPONSES)
Staff = Annotated[Principal, Depends(require_roles(Role.CASEWORKER, Role.APPROVER, Role.FUND_MANAGER, Role.AUDITOR))]


class BatchPublic(BaseModel):
    id: uuid.UUID
    cycle_id: uuid.UUID
    policy_code: str
    policy_version: int
    period: str
    fund_code: str
    chunks: int
    chunks_received: int
    total_lines: int
    total_amount_fen: int
    status: str
    refusal_en: str | None
    refusal_zh: str | None
    created_by: str
    approved_by: str | None
    approved_at: datetime | None
    payments_by_status: dict[str, int]
    amount_fen_by_status: dict[str, int]


class PaymentPublic(BaseModel):
    id: uuid.UUID
    line_id: uuid.UUID
    end_to_end_id: str
    policy_code: str
    period: str
    payee_person_id: uuid.UUID
    household_id: uuid.UUID
    region_code: str
    amount_fen: int
    status: str
    reason: str | None
    provider_ref: str | None
    attempts: int


class DisclosureLine(BaseModel):
    name: str
    village_code: str
    policy_code: str
    period: str
    amount_fen: int


def _problem(exc: BatchError) -> ProblemError:
    title = {403: ("Forbidden", "无权操作")}.get(exc.status, ("Conflict", "冲突"))
    return ProblemError(exc.status, exc.code, title[0], exc.message, title[1], exc.zh)


async def _batch(uow: UowDep, principal: Principal, batch_id: uuid.UUID, *, lock: bool = False):  # noqa: ANN202
    row = (
        await uow.session.execute(
            text(
                "SELECT b.*, cardinality(b.chunks_received) AS received, f.region FROM batches b "
                "LEFT JOIN funds f ON f.code = b.fund_code WHERE b.id = :id"
            ),
            {"id": batch_id},
        )
    ).first()
    if row is None or not sees_region(principal, row.region):  # a batch is its fund's region's
        raise not_found("batch", "批次")
    return row


async def _public(uow: UowDep, row) -> BatchPublic:  # noqa: ANN001
    counts = (
        await uow.session.execute(
            text(
                "SELECT status, count(*) AS n, sum(amount_fen)::bigint AS amount FROM payments WHERE batch_id = :id "
                "GROUP BY status"
            ),
            {"id": row.id},
        )
    ).all()
    return BatchPublic(
        id=row.id,
        cycle_id=row.cycle_id,
        policy_code=row.policy_code,
        policy_version=row.policy_version,
        period=row.period,
        fund_code=row.fund_code,
        chunks=row.chunks,
        chunks_received=row.received,
        total_lines=row.total_lines,
        total_amount_fen=row.total_amount_fen,
        status=row.status,
        refusal_en=row.refusal_en,
        refusal_zh=row.refusal_zh,
        created_by=row.created_by,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        payments_by_status={c.status: c.n for c in counts},
        amount_fen_by_status={c.status: c.amount for c in counts},
    )


@router.get("/v1/batches", response_model=list[BatchPublic], summary="Payment batches, newest first")
async def list_batches(
    principal: FundReader, uow: UowDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[BatchPublic]:
    rows = await uow.session.execute(
        text(
            "SELECT b.id, f.region FROM batches b LEFT JOIN funds f ON f.code = b.fund_code "
            "WHERE CAST(:all AS boolean) OR starts_with(rpad(f.region, 12, '0'), :region) "
            "ORDER BY b.created_at DESC LIMIT :l"
        ),
        {"l": limit, "all": principal.is_service, "region": principal.region or "-"},
    )
    return [await _public(uow, await _batch(uow, principal, r.id)) for r in rows.all()]


@router.get("/v1/batches/{batch_id}", response_model=BatchPublic, summary="One batch with counts by status")
async def get_batch(batch_id: uuid.UUID, principal: FundReader, uow: UowDep) -> BatchPublic:
    return await _public(uow, await _batch(uow, principal, batch_id))


@router.post(
    "/v1/batches/{batch_id}/reserve",
    response_model=BatchPublic,
    summary="Reserve a refused batch again (all or nothing) after the fund was topped up",
)
async def reserve(batch_id: uuid.UUID, principal: FundManager, uow: UowDep) -> BatchPublic:
    await _batch(uow, principal, batch_id)
    try:
        reserved = await reserve_batch(uow, batch_id)
    except BatchError as exc:
        raise _problem(exc) from exc
    await uow.commit()
    row = await _batch(uow, principal, batch_id)
    if not reserved:
        raise ProblemError(422, "insufficient-funds", "Fund too short", row.refusal_en, "资金不足", row.refusal_zh)
    return await _public(uow, row)


@router.post(
    "/v1/batches/{batch_id}/approve",
    response_model=BatchPublic,
    summary="Approve a reserved batch for sending (a fund manager other than the cycle's approver)",
)
async def approve(
    batch_id: uuid.UUID, principal: FundManager, uow: UowDep, today: TodayDep, request: Request
) -> BatchPublic:
    await _batch(uow, principal, batch_id)
    try:
        await approve_batch(uow, batch_id, principal.sub, today)
    except BatchError as exc:
        raise _problem(exc) from exc
    await uow.commit()
    sender = getattr(request.app.state, "sender", None)
    if sender is not None:
        sender.wake.set()
    return await _public(uow, await _batch(uow, principal, batch_id))


@router.get(
    "/v1/batches/{batch_id}/payments",
    response_model=list[PaymentPublic],
    summary="The batch's payments (no names or cards), optionally of one status",
)
async def list_payments(
    batch_id: uuid.UUID,
    principal: FundReader,
    uow: UowDep,
    status: Literal["new", "reserved", "sending", "succeeded", "failed", "returned", "held"] | None = None,
    after: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[PaymentPublic]:
    await _batch(uow, principal, batch_id)
    rows = await uow.session.execute(
        text(
            "SELECT * FROM payments WHERE batch_id = :b AND (CAST(:s AS varchar) IS NULL OR status = :s) "
            "AND (CAST(:after AS uuid) IS NULL OR id > :after) ORDER BY id LIMIT :l"
        ),
        {"b": batch_id, "s": status, "after": after, "l": limit},
    )
    return [PaymentPublic.model_validate(dict(r._mapping)) for r in rows]


async def _disclosure(uow: UowDep, batch_id: uuid.UUID) -> list[DisclosureLine]:
    rows = await uow.session.execute(
        text(
            "SELECT payee_name_masked AS name, region_code AS village_code, policy_code, period, amount_fen "
            "FROM payments WHERE batch_id = :b AND status = 'succeeded' ORDER BY region_code, id"
        ),
        {"b": batch_id},
    )
    return [DisclosureLine.model_validate(dict(r._mapping)) for r in rows]


@router.get(
    "/v1/batches/{batch_id}/disclosure",
    response_model=list[DisclosureLine],
    summary="Public disclosure (公示): masked name, village, policy, amount of every payment made",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "JSON, or CSV"}},
)
async def disclosure(
    batch_id: uuid.UUID, principal: Staff, uow: UowDep, format: Literal["json", "csv"] = "json"
) -> list[DisclosureLine] | Response:
    await _batch(uow, principal, batch_id)
    lines = await _disclosure(uow, batch_id)
    if format == "json":
        return lines
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "村（居）代码", "政策", "期间", "金额（元）"])
    for line in lines:
        writer.writerow([line.name, line.village_code, line.policy_code, line.period, f"{line.amount_fen / 100:.2f}"])
    return Response(
        out.getvalue().encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="disclosure-{batch_id}.csv"'},
    )
