"""Appeals (caseworkers file) and their decision (an approver refuses or grants a manual override)."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from carekit.auth.deps import check_jurisdiction, require_roles
from carekit.auth.principal import Principal, Role
from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, ProblemError, forbidden, not_found
from entitlements.api.deps import TodayDep
from entitlements.domain.errors import PolicyError
from entitlements.domain.evaluation import division_for
from entitlements.domain.facts_catalogue import FactsRow
from entitlements.domain.policy import CODE_PATTERN
from entitlements.service import appeals
from entitlements.service.checks import person_row
from entitlements.service.policies import active_policy

router = APIRouter(prefix="/v1/appeals", tags=["appeals"], responses=PROBLEM_RESPONSES)

Filer = Annotated[Principal, Depends(require_roles(Role.CASEWORKER, Role.ADMIN))]
Decider = Annotated[Principal, Depends(require_roles(Role.APPROVER))]
MAX_AMOUNT = 10**12  # fen or points: far beyond any benefit, far below what a cycle's bigint total holds
AppealReader = Annotated[Principal, Depends(require_roles(Role.CASEWORKER, Role.ADMIN, Role.APPROVER, Role.AUDITOR))]


class AppealCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person_id: uuid.UUID
    policy: str = Field(max_length=64, pattern=CODE_PATTERN)
    reason: str = Field(min_length=1, max_length=2000)


class OverrideDecision(BaseModel):
    """Grant a manual override: the subject is (or is not) eligible until `expires_on`, inclusive."""

    model_config = ConfigDict(extra="forbid")
    outcome: Literal["override"]
    eligible: bool = Field(default=True, description="The override's outcome")
    amount: int | None = Field(default=None, ge=0, le=MAX_AMOUNT,
                               description="fen/points; for an eligible override of a benefit with an amount")
    reason: str = Field(min_length=1, max_length=2000)
    expires_on: date = Field(description="Last day the override holds; today or later")


class Refusal(BaseModel):
    """Refuse the appeal: nothing changes."""

    model_config = ConfigDict(extra="forbid")
    outcome: Literal["refuse"]
    reason: str = Field(min_length=1, max_length=2000)


AppealDecision = Annotated[OverrideDecision | Refusal, Field(discriminator="outcome")]


class AppealPublic(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    policy_code: str
    reason: str
    status: str
    filed_by: str
    filed_at: datetime
    decided_by: str | None
    decided_at: datetime | None


async def _person(uow: Any, principal: Principal, person_id: uuid.UUID) -> FactsRow:
    row = await person_row(uow.session, person_id)
    if row is None:
        raise not_found("person", "人员")
    place = row.division_code
    if not principal.covers(place) and row.residence_division_code and principal.covers(row.residence_division_code):
        place = row.residence_division_code
    check_jurisdiction(principal, place, "person", "人员")
    return row


async def _policy(uow: Any, code: str, row: FactsRow, today: date) -> Any:
    checked = await active_policy(uow.session, code)
    if checked is None or not checked.policy.covers(division_for(checked.policy, row)):
        raise not_found("active policy for this person", "适用于该人员的已启用政策")
    return checked


@router.post("", response_model=AppealPublic, status_code=status.HTTP_201_CREATED, summary="File an appeal")
async def file_appeal(body: AppealCreate, principal: Filer, uow: UowDep, today: TodayDep) -> AppealPublic:
    row = await _person(uow, principal, body.person_id)
    await _policy(uow, body.policy, row, today)
    appeal_id = await appeals.file_appeal(uow.session, body.person_id, body.policy, body.reason, principal.sub)
    await uow.commit()
    return AppealPublic.model_validate(dict((await appeals.get_appeal(uow.session, appeal_id))._mapping))


@router.get("/{appeal_id}", response_model=AppealPublic, summary="One appeal")
async def get_appeal(appeal_id: uuid.UUID, principal: AppealReader, uow: UowDep) -> AppealPublic:
    try:
        appeal = await appeals.get_appeal(uow.session, appeal_id)
    except appeals.AppealNotFound:
        raise not_found("appeal", "申诉") from None
    await _person(uow, principal, appeal.person_id)
    return AppealPublic.model_validate(dict(appeal._mapping))


@router.post("/{appeal_id}/decision", response_model=AppealPublic,
             summary="Refuse the appeal or grant a manual override (approver, not the filer)")
async def decide_appeal(appeal_id: uuid.UUID, body: AppealDecision, principal: Decider, uow: UowDep,
                        today: TodayDep) -> AppealPublic:
    """An override holds until `expires_on` (inclusive) and re-decides the household at once (publishing
    `entitlements.decision.granted` or `revoked` when the outcome changes). 403 for the filer; 409 when
    the appeal is already decided."""
    try:
        appeal = await appeals.get_appeal(uow.session, appeal_id, lock=True)
    except appeals.AppealNotFound:
        raise not_found("appeal", "申诉") from None
    row = await _person(uow, principal, appeal.person_id)
    checked = await _policy(uow, appeal.policy_code, row, today)
    override = body if isinstance(body, OverrideDecision) else None
    try:
        await appeals.decide_appeal(uow, appeal, checked, row, principal.sub, grant=override is not None,
                                    eligible=override.eligible if override else True,
                                    amount=override.amount if override else None, reason=body.reason,
                                    expires_on=override.expires_on if override else None, today=today)
    except appeals.SelfDecision:
        raise forbidden("An appeal is decided by someone other than who filed it.",
                        "申诉须由提交人以外的人决定。") from None
    except PolicyError as exc:
        raise ProblemError(422, "invalid-override", "Invalid override", f"{exc.field}: {exc.message}", "人工认定无效",
                           f"{exc.field}：{exc.message_zh}", extensions={"field": exc.field}) from None
    except appeals.AppealClosed:
        raise ProblemError(409, "appeal-decided", "Conflict", "The appeal is already decided.", "冲突",
                           "该申诉已有决定。") from None
    await uow.commit()
    return AppealPublic.model_validate(dict((await appeals.get_appeal(uow.session, appeal_id))._mapping))
