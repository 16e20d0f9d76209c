"""Policy versions: draft (admin), read, activate and retire (approver, never the drafter)."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES
from entitlements.domain.policy import (
    CODE_PATTERN,
    FUND_PATTERN,
    JURISDICTION_PATTERN,
    MAX_VERSION,
    BenefitKind,
    JurisdictionBasis,
    Subject,
)
from entitlements.service import policies as store

router = APIRouter(prefix="/v1/policies", tags=["policies"], responses=PROBLEM_RESPONSES)

Drafter = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Approver = Annotated[Principal, Depends(require_roles(Role.APPROVER))]
PolicyReader = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.APPROVER, Role.CASEWORKER,
                                                          Role.AUDITOR))]
PolicyCode = Annotated[str, Path(pattern=CODE_PATTERN, max_length=64, description="Policy code")]
Version = Annotated[int, Path(ge=1, le=MAX_VERSION)]
FILLED = r"\S"  # some text besides spaces: the domain refuses blank names, labels and expressions
KINDS = Literal[tuple(k.value for k in BenefitKind)]  # type: ignore[valid-type]
SUBJECTS = Literal[tuple(s.value for s in Subject)]  # type: ignore[valid-type]
BASES = Literal[tuple(b.value for b in JurisdictionBasis)]  # type: ignore[valid-type]


class WordsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: str = Field(max_length=500, pattern=FILLED)
    en: str = Field(max_length=500, pattern=FILLED)


class CriterionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expr: str = Field(max_length=4000, pattern=FILLED, description="CEL over the facts catalogue (GET /v1/facts), "
                                                                   "giving a bool")
    label: WordsIn
    unmet: WordsIn | None = None


class BenefitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: KINDS
    amount: str = Field(default="0", max_length=4000, pattern=FILLED,
                        description="CEL giving an integer (fen for cash kinds)")
    fund: str | None = Field(default=None, pattern=FUND_PATTERN,
                             description="The fund that pays it; required for the cash kinds")


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: str = Field(min_length=1, max_length=200, description="Document number, e.g. 财教〔2011〕623号")
    title: str | None = Field(default=None, max_length=500)
    note: str | None = Field(default=None, max_length=2000)


class PolicyCreate(BaseModel):
    """A policy draft. Beyond this shape the server checks what a schema cannot say (422 with the field):
    every expression against the facts catalogue and its types, `effective_to` not before
    `effective_from`, a `fund` for the cash kinds, and the jurisdiction inside the drafter's region (403)."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=CODE_PATTERN, max_length=64)
    name: WordsIn
    legal_basis: str = Field(max_length=500, pattern=FILLED)
    jurisdiction: str = Field(default="", max_length=12, pattern=JURISDICTION_PATTERN,
                              description="Division-code prefix: '' national, 2/4/6/9/12 digits")
    jurisdiction_basis: BASES = "hukou"
    effective_from: date
    effective_to: date | None = None
    subject: SUBJECTS
    criteria: list[CriterionIn] = Field(min_length=1, max_length=50)
    benefit: BenefitIn
    batch: bool = Field(default=True, description="Must stay inside the SQL subset (cycles, simulations)")
    notes: WordsIn | None = None
    sources: list[SourceIn] | None = Field(default=None, max_length=20, description="Legal documents, for people")


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
    return body.model_dump(mode="json", exclude_none=True)


@router.post("", response_model=PolicyVersionPublic, status_code=status.HTTP_201_CREATED,
             summary="Draft a new policy version (admin)")
async def draft_policy(body: PolicyCreate, principal: Drafter, uow: UowDep) -> PolicyVersionPublic:
    """Validates every expression against the facts catalogue: an unknown fact, a type error or a CEL
    syntax error is 422 with the field and the position (line, column, offset). With `batch: true` (the
    default) a criterion outside the SQL subset is refused too (`batch-unsupported`). 403 for a
    jurisdiction outside the drafter's region."""
    policy = await store.draft(uow.session, _plain(body), principal.sub, principal.region)
    await uow.commit()
    return _public(await store.get_version(uow.session, policy.code, policy.version))


@router.get("", response_model=list[PolicyVersionPublic], summary="Policy versions")
async def list_policies(
    principal: PolicyReader, uow: UowDep,
    code: Annotated[str | None, Query(max_length=64, pattern=CODE_PATTERN)] = None,
    status_: Annotated[str | None, Query(alias="status", pattern="^(draft|active|retired)$")] = None,
) -> list[PolicyVersionPublic]:
    """The versions whose jurisdiction contains the caller's region or lies inside it (national and
    provincial policies, and those of the caller's own area — never a neighbouring county's)."""
    await store.active_policies(uow.session)  # seeds the library on a fresh database
    rows = await store.list_versions(uow.session, principal.region, code, status_)
    await uow.commit()
    return [_public(row) for row in rows]


@router.get("/{code}/versions/{version}", response_model=PolicyVersionPublic, summary="One policy version")
async def get_policy_version(code: PolicyCode, version: Version, principal: PolicyReader,
                             uow: UowDep) -> PolicyVersionPublic:
    return _public(await store.visible_version(uow.session, code, version, principal.region))


@router.post("/{code}/versions/{version}/activate", response_model=PolicyVersionPublic,
             summary="Activate a draft (approver, not its drafter)")
async def activate_policy_version(code: PolicyCode, version: Version, principal: Approver,
                                  uow: UowDep) -> PolicyVersionPublic:
    """403 for the drafter themself and for a policy above the approver's region; 404 for one of
    another region; 409 when it is not a draft or another active version of the code overlaps it for the
    same jurisdiction."""
    await store.activate_version(uow.session, code, version, principal.sub, principal.region)
    await uow.commit()
    store.invalidate()  # again after the commit: a read in between may have cached the old generation
    return _public(await store.get_version(uow.session, code, version))


@router.post("/{code}/versions/{version}/retire", response_model=PolicyVersionPublic,
             summary="Retire an active version (approver)")
async def retire_policy_version(code: PolicyCode, version: Version, principal: Approver,
                                uow: UowDep) -> PolicyVersionPublic:
    """403 for a policy above the approver's region; 404 for one of another region; 409 when it is not
    active."""
    await store.retire_version(uow.session, code, version, principal.sub, principal.region)
    await uow.commit()
    store.invalidate()
    return _public(await store.get_version(uow.session, code, version))
