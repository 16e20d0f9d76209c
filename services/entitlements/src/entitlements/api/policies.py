"""Policy versions: draft (admin), read, activate and retire (approver, never the drafter)."""

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES
from entitlements.api.facts import Words
from entitlements.service import policies as store

router = APIRouter(prefix="/v1/policies", tags=["policies"], responses=PROBLEM_RESPONSES)

Drafter = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Approver = Annotated[Principal, Depends(require_roles(Role.APPROVER))]
PolicyReader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.APPROVER, Role.CASEWORKER,
                                                          Role.AUDITOR))]


class CriterionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expr: str = Field(max_length=4000, description="CEL over the facts catalogue (GET /v1/facts)")
    label: Words
    unmet: Words | None = None


class BenefitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(description="cash_yearly, cash_monthly, cash_once, in_kind_service, insurance_enrolment, "
                                  "fee_waiver, exam_bonus_points, priority_flag")
    amount: str = Field(default="0", max_length=4000, description="CEL giving an integer (fen for cash kinds)")
    fund: str | None = None


class PolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=64)
    name: Words
    legal_basis: str = Field(max_length=500)
    jurisdiction: str = Field(default="", max_length=12)
    jurisdiction_basis: str = "hukou"
    effective_from: date
    effective_to: date | None = None
    subject: str = Field(description="person or household")
    criteria: list[CriterionIn] = Field(max_length=50)
    benefit: BenefitIn
    batch: bool = Field(default=True, description="Must stay inside the SQL subset (cycles, simulations)")
    notes: Words | None = None
    sources: list[dict[str, Any]] | None = None


class PolicyVersionPublic(BaseModel):
    code: str
    version: int
    status: str
    jurisdiction: str
    effective_from: date
    effective_to: date | None
    drafted_by: str
    approved_by: str | None
    created_at: datetime
    activated_at: datetime | None
    batch_ok: bool
    batch_problem: dict[str, Any] | None
    policy: dict[str, Any]


def _public(row: Any) -> PolicyVersionPublic:
    return PolicyVersionPublic(
        code=row.code, version=row.version, status=row.status, jurisdiction=row.jurisdiction,
        effective_from=row.effective_from, effective_to=row.effective_to, drafted_by=row.drafted_by,
        approved_by=row.approved_by, created_at=row.created_at, activated_at=row.activated_at,
        batch_ok=row.batch_problem is None, batch_problem=row.batch_problem,
        policy={**row.body, "status": row.status, "approved_by": row.approved_by})


def _plain(body: PolicyCreate) -> dict[str, Any]:
    data = body.model_dump(mode="json", exclude_none=True)
    data.pop("sources", None)
    return data


@router.post("", response_model=PolicyVersionPublic, status_code=status.HTTP_201_CREATED,
             summary="Draft a new policy version (admin)")
async def draft_policy(body: PolicyCreate, principal: Drafter, uow: UowDep) -> PolicyVersionPublic:
    """Validates every expression against the facts catalogue: an unknown fact, a type error or a CEL
    syntax error is 422 with the field and the position (line, column, offset). With `batch: true` (the
    default) a criterion outside the SQL subset is refused too (`batch-unsupported`)."""
    policy = await store.draft(uow.session, _plain(body), principal.sub, principal.region)
    await uow.commit()
    return _public(await store.get_version(uow.session, policy.code, policy.version))


@router.get("", response_model=list[PolicyVersionPublic], summary="Policy versions")
async def list_policies(
    _principal: PolicyReader, uow: UowDep,
    code: Annotated[str | None, Query(max_length=64)] = None,
    status_: Annotated[str | None, Query(alias="status", pattern="^(draft|active|retired)$")] = None,
) -> list[PolicyVersionPublic]:
    await store.active_policies(uow.session)  # seeds the library on a fresh database
    rows = await store.list_versions(uow.session, code, status_)
    await uow.commit()
    return [_public(row) for row in rows]


@router.get("/{code}/versions/{version}", response_model=PolicyVersionPublic, summary="One policy version")
async def get_policy_version(code: str, version: int, _principal: PolicyReader, uow: UowDep) -> PolicyVersionPublic:
    return _public(await store.get_version(uow.session, code, version))


@router.post("/{code}/versions/{version}/activate", response_model=PolicyVersionPublic,
             summary="Activate a draft (approver, not its drafter)")
async def activate_policy_version(code: str, version: int, principal: Approver, uow: UowDep) -> PolicyVersionPublic:
    """403 for the drafter themself; 409 when it is not a draft or another active version of the code
    overlaps it for the same jurisdiction."""
    await store.activate_version(uow.session, code, version, principal.sub)
    await uow.commit()
    store.invalidate()  # again after the commit: a read in between may have cached the old generation
    return _public(await store.get_version(uow.session, code, version))


@router.post("/{code}/versions/{version}/retire", response_model=PolicyVersionPublic,
             summary="Retire an active version (approver)")
async def retire_policy_version(code: str, version: int, principal: Approver, uow: UowDep) -> PolicyVersionPublic:
    await store.retire_version(uow.session, code, version, principal.sub)
    await uow.commit()
    store.invalidate()
    return _public(await store.get_version(uow.session, code, version))
