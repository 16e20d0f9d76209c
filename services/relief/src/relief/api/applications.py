"""Emergency relief applications (紧急救助): apply, review queue, review/approve/refuse, pay."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from carekit.auth.deps import check_jurisdiction
from carekit.auth.principal import Principal, Role
from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, ProblemError, forbidden, not_found
from relief.api.deps import Applicant, Approver, CaseReader, FundManager, SettingsDep, ledger_problem
from relief.domain.applications import ApplicationError, waited_hours
from relief.domain.ledger import LedgerError
from relief.service import applications as service
from relief.service.funds import fund_row

router = APIRouter(tags=["applications"], responses=PROBLEM_RESPONSES)

VILLAGE = r"^[0-9]{12}$"
Reason = Literal["child_died", "disability", "accident", "serious_illness", "disaster"]


class ApplicationBase(BaseModel):
    household_id: uuid.UUID
    applicant_person_id: uuid.UUID
    region_code: str = Field(pattern=VILLAGE, description="The household's 12-digit village code")
    reason_code: Reason
    amount_fen: int = Field(gt=0, le=10**10, description="Integer fen, positive")
    fund_code: str = "care_fund"
    description: str = Field(default="", max_length=2000)


class ApplicationCreate(ApplicationBase):
    priority: bool | None = Field(
        default=None, description="Priority family marker; default: the entitlements' relief-priority flag"
    )


class StepPublic(BaseModel):
    step: str
    actor: str
    comment: str | None
    at: datetime


class ApplicationPublic(ApplicationBase):
    id: uuid.UUID
    priority: bool
    status: str
    approvals_needed: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    waited_hours: float = Field(description="SLA clock: hours since submission (until decided)")
    sla_breached: bool
    steps: list[StepPublic] = []


class StepCreate(BaseModel):
    comment: str | None = Field(default=None, max_length=2000)


def _public(row, sla_hours: int, steps: list | None = None) -> ApplicationPublic:  # noqa: ANN001
    end = row.updated_at if row.status in ("paid", "refused") else datetime.now(UTC)
    waited = waited_hours(row.created_at, end)
    return ApplicationPublic(
        **{k: getattr(row, k) for k in ApplicationBase.model_fields},
        id=row.id,
        priority=row.priority,
        status=row.status,
        approvals_needed=row.approvals_needed,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        waited_hours=waited,
        sla_breached=waited > sla_hours and row.status in ("submitted", "reviewed"),
        steps=[StepPublic(step=s.step, actor=s.actor, comment=s.comment, at=s.at) for s in steps or []],
    )


def _problem(exc: ApplicationError) -> ProblemError:
    title = {403: ("Forbidden", "无权操作"), 409: ("Conflict", "冲突")}.get(exc.status, ("Invalid", "无效"))
    return ProblemError(exc.status, exc.code, title[0], exc.message, title[1], exc.zh)


@router.post(
    "/v1/applications",
    response_model=ApplicationPublic,
    status_code=201,
    summary="Apply for emergency relief for a household",
)
async def create_application(
    body: ApplicationCreate, principal: Applicant, uow: UowDep, settings: SettingsDep
) -> ApplicationPublic:
    """Caseworkers apply within their region. A citizen applies for themself (their token's `sub` is
    their person id) and may not set the priority marker."""
    if principal.has_any(Role.CASEWORKER):
        check_jurisdiction(principal, body.region_code, "household", "家庭")
    elif str(body.applicant_person_id) != principal.sub or body.priority is not None:
        raise forbidden(
            "A citizen applies only for themself, without a priority marker.",
            "居民只能为本人申请，且不得自行标注优先。",
        )
    fund = await fund_row(uow.session, body.fund_code)
    if fund is None:
        raise ProblemError(
            422,
            "unknown-fund",
            "Unknown fund",
            f"No fund {body.fund_code}.",
            "基金不存在",
            f"基金 {body.fund_code} 不存在。",
        )
    new = service.NewApplication(**body.model_dump(exclude={"priority"}), priority=body.priority)
    application_id = await service.submit(uow, new, principal.sub, settings.second_approval_above_fen)
    await uow.commit()
    row = await service.get_row(uow, application_id)
    return _public(row, settings.application_sla_hours, await service.steps(uow, application_id))


@router.get(
    "/v1/applications",
    response_model=list[ApplicationPublic],
    summary="The review queue: priority families first, then the longest-waiting",
)
async def list_applications(
    principal: CaseReader,
    uow: UowDep,
    settings: SettingsDep,
    status: Annotated[list[Literal["submitted", "reviewed", "approved", "paid", "refused"]] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ApplicationPublic]:
    statuses = status or ["submitted", "reviewed"]
    rows = await service.queue(uow, list(statuses), limit * 4 + offset, 0)
    visible = [r for r in rows if _may_see(principal, r)]
    return [_public(r, settings.application_sla_hours) for r in visible[offset : offset + limit]]


def _may_see(principal: Principal, row) -> bool:  # noqa: ANN001
    if principal.roles == {Role.CITIZEN}:
        return str(row.applicant_person_id) == principal.sub
    return principal.covers(row.region_code)


async def _visible(uow: UowDep, principal: Principal, application_id: uuid.UUID, *, lock: bool = False):  # noqa: ANN202
    row = await service.get_row(uow, application_id, lock=lock)
    if row is None or not _may_see(principal, row):
        raise not_found("application", "申请")
    return row


@router.get(
    "/v1/applications/{application_id}",
    response_model=ApplicationPublic,
    summary="One application with every step (actor, time, comment)",
)
async def get_application(
    application_id: uuid.UUID, principal: CaseReader, uow: UowDep, settings: SettingsDep
) -> ApplicationPublic:
    row = await _visible(uow, principal, application_id)
    return _public(row, settings.application_sla_hours, await service.steps(uow, application_id))


async def _step(
    application_id: uuid.UUID, action: str, principal: Principal, body: StepCreate, uow: UowDep, settings: SettingsDep
) -> ApplicationPublic:
    row = await _visible(uow, principal, application_id, lock=True)
    try:
        await service.act(uow, row, action, principal.sub, body.comment)
    except ApplicationError as exc:
        raise _problem(exc) from exc
    except LedgerError as exc:
        raise ledger_problem(exc) from exc
    await uow.commit()
    return _public(
        await service.get_row(uow, application_id),
        settings.application_sla_hours,
        await service.steps(uow, application_id),
    )


@router.post(
    "/v1/applications/{application_id}/review",
    response_model=ApplicationPublic,
    summary="Township review (not by the applicant's maker)",
)
async def review_application(
    application_id: uuid.UUID, body: StepCreate, principal: Approver, uow: UowDep, settings: SettingsDep
) -> ApplicationPublic:
    return await _step(application_id, "review", principal, body, uow, settings)


@router.post(
    "/v1/applications/{application_id}/approve",
    response_model=ApplicationPublic,
    summary="County approval; reserves the amount in the fund (two approvers above the threshold)",
)
async def approve_application(
    application_id: uuid.UUID, body: StepCreate, principal: Approver, uow: UowDep, settings: SettingsDep
) -> ApplicationPublic:
    return await _step(application_id, "approve", principal, body, uow, settings)


@router.post(
    "/v1/applications/{application_id}/refuse",
    response_model=ApplicationPublic,
    summary="Refuse at review or approval, with a comment",
)
async def refuse_application(
    application_id: uuid.UUID, body: StepCreate, principal: Approver, uow: UowDep, settings: SettingsDep
) -> ApplicationPublic:
    return await _step(application_id, "refuse", principal, body, uow, settings)


@router.post(
    "/v1/applications/{application_id}/pay",
    response_model=ApplicationPublic,
    summary="Record the payment of an approved application (posts the reserved amount)",
)
async def pay_application(
    application_id: uuid.UUID, body: StepCreate, principal: FundManager, uow: UowDep, settings: SettingsDep
) -> ApplicationPublic:
    return await _step(application_id, "pay", principal, body, uow, settings)
