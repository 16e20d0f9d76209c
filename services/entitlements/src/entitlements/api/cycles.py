"""Benefit cycles: create (admin), read, summary, lines, approve (approver, not the creator)."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.deps import PageDep, RuntimeDep, UowDep
from carekit.http.pagination import Page, next_cursor
from carekit.http.problems import PROBLEM_RESPONSES, ProblemError, forbidden, not_found
from entitlements.domain.cycles import PERIOD_PATTERN, Period
from entitlements.domain.errors import PolicyError
from entitlements.domain.policy import CODE_PATTERN
from entitlements.events.cycle_work import enqueue
from entitlements.service import cycles
from entitlements.service.policies import active_policy

router = APIRouter(prefix="/v1/cycles", tags=["cycles"], responses=PROBLEM_RESPONSES)

CycleMaker = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
CycleApprover = Annotated[Principal, Depends(require_roles(Role.APPROVER))]
CycleReader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.APPROVER, Role.AUDITOR,
                                                         Role.FUND_MANAGER))]


class CycleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policy: str = Field(max_length=64, pattern=CODE_PATTERN, description="Policy code; its active version is cycled")
    period: str = Field(max_length=7, pattern=PERIOD_PATTERN, description="A year (2026) or a month (2026-03), "
                                                                           "from 1900 on")


class CyclePublic(BaseModel):
    id: uuid.UUID
    policy_code: str
    policy_version: int
    period: str
    region: str
    as_of: date
    status: str = Field(description="evaluating, ready, approved, or failed (nothing to approve)")
    fund: str | None
    benefit_kind: str
    unit: str
    total_lines: int
    total_amount: int
    created_by: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    chunks: int | None


class TownshipTotal(BaseModel):
    township: str
    lines: int
    amount: int


class CountyTotal(BaseModel):
    county: str
    lines: int
    amount: int
    without_payee: int
    townships: list[TownshipTotal]


class CycleSummary(BaseModel):
    cycle: CyclePublic
    counties: list[CountyTotal]


class CycleLinePublic(BaseModel):
    line_id: uuid.UUID
    subject_kind: str
    subject_id: uuid.UUID
    payee_person_id: uuid.UUID | None
    household_id: uuid.UUID
    region_code: str
    amount: int


def _public(row: Any) -> CyclePublic:
    return CyclePublic.model_validate(dict(row._mapping))


async def _visible(uow: Any, principal: Principal, cycle_id: uuid.UUID) -> Any:
    try:
        cycle = await cycles.get_cycle(uow.session, cycle_id)
    except cycles.CycleNotFound:
        raise not_found("cycle", "发放周期") from None
    if not principal.covers(cycle.region):  # a cycle belongs to the area it was created for
        raise not_found("cycle", "发放周期")
    return cycle


def _unprocessable(exc: PolicyError) -> ProblemError:
    return ProblemError(422, "invalid-cycle", "Invalid cycle", f"{exc.field}: {exc.message}", "发放周期无效",
                        f"{exc.field}：{exc.message_zh}", extensions={"field": exc.field})


@router.post("", response_model=CyclePublic, status_code=status.HTTP_201_CREATED,
             summary="Evaluate a policy's population for a period into frozen lines (admin)")
async def create_cycle(body: CycleCreate, principal: CycleMaker, uow: UowDep, runtime: RuntimeDep) -> CyclePublic:
    """Evaluates the active version of `policy` as of the period's first day over the creator's region
    (narrowed to the policy's jurisdiction: the cycle's `region`, the only area whose staff see it),
    county by county, with the SQL path; the lines are frozen. With the work queue on
    (`ENTITLEMENTS_CYCLE_QUEUE`) the answer comes at once with status `evaluating`, and the cycle turns
    `ready` when the workers are done (or `failed`, with no line, when the policy's amounts overflow
    64-bit integers: 422 at once without the queue). 422 for a period outside the policy's dates
    or of the wrong kind; 409 while another cycle of the policy and period over an overlapping area
    awaits approval; 403 when the policy does not apply in the creator's region."""
    checked = await active_policy(uow.session, body.policy)
    if checked is None:
        raise not_found("active policy", "已启用的政策")
    try:
        cycle_id = await cycles.create_cycle(uow.session, checked, Period.parse(body.period), principal.region or "",
                                             principal.sub)
    except PolicyError as exc:
        raise _unprocessable(exc) from None
    except cycles.CycleOpen as exc:  # linked when the caller may read it (not a cycle of a wider area)
        link = {"cycle": f"/v1/cycles/{exc.cycle_id}"} if principal.covers(exc.region) else {}
        raise ProblemError(409, "cycle-open", "Conflict", "A cycle of this policy and period awaits approval.",
                           "冲突", "该政策本周期已有待审批的发放周期。", extensions=link) from None
    except cycles.OutsideArea:
        raise forbidden("The policy does not apply in your region.", "该政策不适用于您的辖区。") from None
    if runtime.settings.cycle_queue:  # the workers take it from here: the cycle is `evaluating` meanwhile
        enqueue(uow, cycle_id, await cycles.work_items(uow.session, cycle_id))
        await uow.commit()
    else:
        await uow.commit()
        await cycles.run_work_items(runtime.db, cycle_id, "api")
    cycle = await cycles.get_cycle(uow.session, cycle_id)
    if cycle.status == "failed":
        raise ProblemError(422, "cycle-failed", "Cycle failed", "The policy's amount formula goes beyond 64-bit "
                           "integers for some subject (or the cycle's total does): the cycle is failed and holds "
                           "no line. Correct the policy and create the cycle again.", "发放周期失败",
                           "政策金额公式对某些对象（或周期合计）超出64位整数范围，该周期已失败且不含任何明细。"
                           "请修正政策后重新创建。", extensions={"field": "policy", "cycle": f"/v1/cycles/{cycle_id}"})
    return _public(cycle)


@router.get("/{cycle_id}", response_model=CyclePublic, summary="One cycle")
async def get_cycle(cycle_id: uuid.UUID, principal: CycleReader, uow: UowDep) -> CyclePublic:
    return _public(await _visible(uow, principal, cycle_id))


@router.get("/{cycle_id}/summary", response_model=CycleSummary, summary="Lines and amounts by county and township")
async def cycle_summary(cycle_id: uuid.UUID, principal: CycleReader, uow: UowDep) -> CycleSummary:
    cycle = await _visible(uow, principal, cycle_id)
    counties = await cycles.summary(uow.session, cycle_id)
    return CycleSummary(cycle=_public(cycle), counties=[CountyTotal.model_validate(c) for c in counties])


@router.get("/{cycle_id}/lines", response_model=Page[CycleLinePublic], summary="The frozen lines, by line id")
async def cycle_lines(cycle_id: uuid.UUID, principal: CycleReader, uow: UowDep, page: PageDep,
                      request: Request) -> Page[CycleLinePublic]:
    await _visible(uow, principal, cycle_id)
    after = uuid.UUID(str(page.after["line_id"])) if page.after else None
    rows = await cycles.page_of_lines(uow.session, cycle_id, after, page.limit)
    items = [CycleLinePublic.model_validate(dict(r._mapping)) for r in rows]
    return Page(items=items, next_cursor=next_cursor(request, items, page.limit,
                                                     lambda line: {"line_id": str(line.line_id)}))


@router.post("/{cycle_id}/approve", response_model=CyclePublic,
             summary="Approve a ready cycle (approver, not its creator)")
async def approve_cycle(cycle_id: uuid.UUID, principal: CycleApprover, uow: UowDep) -> CyclePublic:
    """Publishes the lines of a cash benefit to relief in chunks of ≤ 1000 (`entitlements.cycle.approved`),
    in the approval's transaction. 403 for the cycle's creator; 409 when it is not ready (already approved)."""
    await _visible(uow, principal, cycle_id)
    try:
        await cycles.approve(uow, cycle_id, principal.sub)
    except cycles.CycleSelfApproval:
        raise forbidden("A cycle is approved by someone other than its creator (maker ≠ checker).",
                        "发放周期须由创建人以外的人审批。") from None
    except cycles.CycleStateError as exc:
        raise ProblemError(409, exc.slug, "Conflict", exc.message, "冲突", exc.message_zh) from None
    await uow.commit()
    return _public(await cycles.get_cycle(uow.session, cycle_id))
