"""Explained entitlements of one person, and the partners' real-time eligibility check."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from carekit.auth.deps import check_jurisdiction
from carekit.deps import ReadSessionDep, UowDep
from carekit.http.problems import PROBLEM_RESPONSES, not_found
from entitlements.api.deps import Explainer, LibraryDep, Partner, TodayDep, VaultDep
from entitlements.api.facts import Words
from entitlements.domain.evaluation import evaluate, in_population
from entitlements.domain.overrides import apply_override
from entitlements.domain.policy import CODE_PATTERN
from entitlements.service.appeals import appeals_of
from entitlements.service.checks import holds_on, person_and_override, person_row, policies_for, valid_until
from entitlements.service.overrides import overrides_for

router = APIRouter(tags=["entitlements"], responses=PROBLEM_RESPONSES)

ID_FIELD = "id_number"  # the registry's blind-index purpose for resident ID numbers


class FactRead(BaseModel):
    name: str
    value: Any
    text: Words


class CriterionPublic(BaseModel):
    label: Words
    passed: bool
    facts: list[FactRead]
    error: str | None
    text: Words


class OverridePublic(BaseModel):
    id: uuid.UUID
    appeal_id: uuid.UUID | None
    eligible: bool
    amount: int | None
    reason: str
    expires_on: date
    decided_by: str


class AppealBrief(BaseModel):
    id: uuid.UUID
    policy_code: str
    reason: str
    status: str
    filed_by: str
    filed_at: datetime
    decided_by: str | None


class EntitlementPublic(BaseModel):
    policy: str
    policy_version: int
    name: Words
    legal_basis: str
    subject: str
    subject_id: str
    benefit_kind: str
    eligible: bool
    in_population: bool
    amount: int | None
    unit: str
    amount_error: str | None
    summary: Words
    criteria: list[CriterionPublic]
    override: OverridePublic | None = None


class PersonEntitlements(BaseModel):
    person_id: uuid.UUID
    household_id: uuid.UUID
    as_of: date
    facts_known: bool
    entitlements: list[EntitlementPublic]
    appeals: list[AppealBrief]


class EligibilityCheck(BaseModel):
    policy: str
    eligible: bool
    valid_until: date | None


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value if not isinstance(value, tuple) else list(value)


@router.get("/v1/persons/{person_id}/entitlements", response_model=PersonEntitlements,
            summary="Every policy in force for a person, eligible or not, explained in zh and en")
async def person_entitlements(
    person_id: uuid.UUID, principal: Explainer, uow: UowDep, library: LibraryDep, today: TodayDep,
    as_of: Annotated[date | None, Query(description="Evaluate as of this day; default today")] = None,
) -> PersonEntitlements:
    """For caseworkers, admins and auditors within their region (404 outside it, and for an unknown id).
    Each library policy in force on `as_of` whose jurisdiction covers the person's place: eligible or not,
    the amount, and for each criterion its label, the facts it read and whether it passed."""
    row = await person_row(uow.session, person_id)
    if row is None:
        raise not_found("person", "人员")
    # hukou place, or where the household lives ("same services where they live"); else 404
    place = row.division_code
    if not principal.covers(place) and row.residence_division_code and principal.covers(row.residence_division_code):
        place = row.residence_division_code
    check_jurisdiction(principal, place, "person", "人员")
    day = as_of or today
    entitlements = []
    in_force = policies_for(library, row, day)
    overrides = await overrides_for(uow.session, [row.person_id, row.household_id], day)
    for checked in in_force:
        policy = checked.policy
        evaluated = evaluate(checked, row, day)
        override = overrides.get((policy.code, evaluated.subject_id))
        decision = apply_override(evaluated, override) if row.household_facts_as_of is not None else evaluated
        entitlements.append(EntitlementPublic(
            policy=policy.code, policy_version=policy.version, name=Words(zh=policy.name.zh, en=policy.name.en),
            legal_basis=policy.legal_basis, subject=policy.subject.value, subject_id=decision.subject_id,
            benefit_kind=policy.benefit.kind.value, eligible=decision.eligible,
            in_population=in_population(policy, row, day), amount=decision.amount, unit=decision.unit,
            amount_error=decision.amount_error, summary=Words(zh=decision.summary_zh, en=decision.summary_en),
            criteria=[CriterionPublic(
                label=Words(zh=c.label.zh, en=c.label.en), passed=c.passed, error=c.error,
                text=Words(zh=c.text_zh, en=c.text_en),
                facts=[FactRead(name=f.name, value=_plain(f.value), text=Words(zh=f.text_zh, en=f.text_en))
                       for f in c.facts]) for c in decision.criteria],
            override=OverridePublic(**{k: getattr(override, k) for k in OverridePublic.model_fields})
            if override is not None else None,
        ))
    if row.household_facts_as_of is None:  # the registry has not described the household yet
        for entitlement in entitlements:
            entitlement.eligible, entitlement.in_population, entitlement.amount = False, False, None
    filed = [AppealBrief.model_validate(dict(a._mapping)) for a in await appeals_of(uow.session, person_id)]
    return PersonEntitlements(person_id=person_id, household_id=uuid.UUID(row.household_id), as_of=day,
                              facts_known=row.household_facts_as_of is not None, entitlements=entitlements,
                              appeals=filed)


@router.get("/v1/eligibility", response_model=EligibilityCheck,
            summary="Real-time eligibility check for partners: eligible or not, and until when")
async def check_eligibility(
    principal: Partner, session: ReadSessionDep, library: LibraryDep, vault: VaultDep, today: TodayDep,
    policy: Annotated[str, Query(max_length=64, pattern=CODE_PATTERN,
                                 description="Policy code, e.g. fee-waiver-benefit-card")],
    id_number: Annotated[str, Query(min_length=1, max_length=32, description="The resident ID number")],
) -> EligibilityCheck:
    """For partner tokens. Only whether the person is eligible today and until when (on the facts on
    record) is disclosed — no amount, no reason, and an unknown ID number answers `eligible: false`
    exactly like a known one who is not eligible. The ID is matched through the platform's blind index.

    A partner answers for people inside its remit, the token's `region` (its registered county,
    prefecture or province): a person whose household is registered there or lives there. Anyone else —
    and everyone, for a token without a region — gets the unknown number's answer."""
    checked = next((c for c in library if c.policy.code == policy), None)
    if checked is None:
        raise not_found("policy", "政策")
    if not principal.region:
        return EligibilityCheck(policy=policy, eligible=False, valid_until=None)
    found = await person_and_override(session, vault.index(id_number.strip().upper(), ID_FIELD), principal.region,
                                      checked, today)
    if found is None:
        return EligibilityCheck(policy=policy, eligible=False, valid_until=None)
    row, override = found
    if override is not None:
        return EligibilityCheck(policy=policy, eligible=override.eligible,
                                valid_until=override.expires_on if override.eligible else None)
    if not holds_on(checked, row, today):
        return EligibilityCheck(policy=policy, eligible=False, valid_until=None)
    return EligibilityCheck(policy=policy, eligible=True, valid_until=valid_until(checked, row, today))


