"""Emergency relief applications (紧急救助): apply, review queue, review/approve/refuse, pay."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from carekit.auth.principal import Principal, Role
from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, ProblemError, forbidden, not_found
from relief.adapters.registry import RegistryUnavailable
from relief.api.deps import (
    FUND_CODE,
    MAX_OFFSET,
    Applicant,
    Approver,
    CaseReader,
    FundManager,
    RegistryDep,
    SettingsDep,
    ledger_problem,
)
from relief.domain.applications import ApplicationError, waited_hours
from relief.domain.ledger import LedgerError
from relief.service import applications as service
from relief.service.funds import fund_row

router = APIRouter(tags=["applications"], responses=PROBLEM_RESPONSES)

Reason = Literal["child_died", "disability", "accident", "serious_illness", "disaster"]


class ApplicationBase(BaseModel):
    household_id: uuid.UUID = Field(description="The household in the registry")
    applicant_person_id: uuid.UUID = Field(description="A living member of that household in the registry")
    reason_code: Reason
    amount_fen: int = Field(gt=0, le=10**10, description="Integer fen, positive")
    fund_code: str = Field(default="care_fund", pattern=FUND_CODE, description="A fund of the household's region")
    description: str = Field(default="", max_length=2000)


class ApplicationCreate(ApplicationBase):
    # the region is the registry's, never the client's: a body still naming one is refused, not ignored
    model_config = ConfigDict(extra="forbid")
    priority: StrictBool | None = Field(
        default=None, description="Priority family marker; default: the entitlements' relief-priority flag"
    )


class StepPublic(BaseModel):
    step: str
    actor: str
    comment: str | None
    at: datetime


class ApplicationPublic(ApplicationBase):
    region_code: str = Field(description="The household's 12-digit village code, as the registry has it")
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
        region_code=row.region_code,
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


_TITLES = {403: ("Forbidden", "无权操作"), 404: ("Not found", "未找到"), 409: ("Conflict", "冲突")}


def _problem(exc: ApplicationError) -> ProblemError:
    title = _TITLES.get(exc.status, ("Invalid", "无效"))
    extensions = {"field": exc.field} if exc.field else {}
    return ProblemError(exc.status, exc.code, title[0], exc.message, title[1], exc.zh, extensions=extensions)


REGISTRY_UNAVAILABLE = ProblemError(
    503,
    "registry-unavailable",
    "Registry unavailable",
    "The registry could not confirm the household and applicant; nothing was written. Try again shortly.",
    "户籍登记服务不可用",
    "暂时无法向户籍登记服务核实该户及申请人，未作任何记录，请稍后重试。",
    headers={"Retry-After": "5"},
)


def _unknown_fund(code: str) -> ProblemError:
    return ProblemError(
        422,
        "unknown-fund",
        "Unknown fund",
        f"No fund {code} (fund_code) serves this household's region.",
        "基金不存在",
        f"该户所在辖区没有基金 {code}（fund_code）。",
        extensions={"field": "fund_code"},
    )


@router.post(
    "/v1/applications",
    response_model=ApplicationPublic,
    status_code=201,
    summary="Apply for emergency relief for a household",
    responses={503: PROBLEM_RESPONSES[422] | {"description": "The registry could not be asked; nothing written"}},
)
async def create_application(
    body: ApplicationCreate, principal: Applicant, uow: UowDep, settings: SettingsDep, registry: RegistryDep
) -> ApplicationPublic:
    """The registry is asked whether the household exists and the applicant lives in it; the region is
    the household's there. Caseworkers apply for households registered in their region (404 otherwise).
    A citizen applies for themself (their token's `sub` is their person id), for their own household,
    and may not set the priority marker."""
    if not principal.has_any(Role.CASEWORKER) and (
        str(body.applicant_person_id) != principal.sub or body.priority is not None
    ):
        raise forbidden(
            "A citizen applies only for themself, without a priority marker.",
            "居民只能为本人申请，且不得自行标注优先。",
        )
    try:
        region = await service.household_region(registry, principal, body.household_id, body.applicant_person_id)
    except RegistryUnavailable as exc:
        raise REGISTRY_UNAVAILABLE from exc
    except ApplicationError as exc:
        raise _problem(exc) from exc
    fund = await fund_row(uow.session, body.fund_code)
    if fund is None or not region.startswith(fund.region):
        raise _unknown_fund(body.fund_code)
    new = service.NewApplication(**body.model_dump(exclude={"priority"}), region_code=region, priority=body.priority)
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
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[ApplicationPublic]:
    statuses = status or ["submitted", "reviewed"]
    seen = _seen_by(principal)
    if seen is None:
        return []
    rows = await service.queue(uow, list(statuses), limit, offset, seen)
    return [_public(r, settings.application_sla_hours) for r in rows]


def _seen_by(principal: Principal) -> service.Seen | None:
    """What the caller may see: a citizen their own applications, staff their region's (None: nothing)."""
    if principal.is_service:
        return service.Seen()
    if principal.roles == {Role.CITIZEN}:
        try:
            return service.Seen(applicant=uuid.UUID(principal.sub))
        except ValueError:
            return None
    return service.Seen(region=principal.region) if principal.region else None


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
