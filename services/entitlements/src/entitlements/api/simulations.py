"""Simulations: a draft policy, or a change to an active one, evaluated on a date — no side effects."""

import dataclasses
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, model_validator

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, forbidden, not_found
from entitlements.api.policies import CriterionIn, PolicyCreate
from entitlements.domain.policy import (
    CODE_PATTERN,
    MAX_VERSION,
    Benefit,
    CheckedPolicy,
    Criterion,
    Text,
    check_policy,
    policy_from_dict,
)
from entitlements.service import policies as store
from entitlements.service.simulations import simulate

router = APIRouter(prefix="/v1/simulations", tags=["simulations"], responses=PROBLEM_RESPONSES)

Simulator = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.APPROVER))]


class DraftRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=64, pattern=CODE_PATTERN)
    version: int = Field(ge=1, le=MAX_VERSION)


class PolicyChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=64, pattern=CODE_PATTERN, description="The active policy to change")
    criteria: list[CriterionIn] | None = Field(default=None, min_length=1, max_length=50)
    amount: str | None = Field(default=None, max_length=4000, pattern=r"\S",
                               description="A new amount formula (CEL)")


class SimulationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: date
    policy: PolicyCreate | None = Field(default=None, description="An unsaved draft")
    draft: DraftRef | None = Field(default=None, description="A stored draft version")
    change: PolicyChange | None = Field(default=None, description="Changed criteria or amount of an active policy")

    @model_validator(mode="after")
    def one_candidate(self) -> "SimulationCreate":
        if sum(x is not None for x in (self.policy, self.draft, self.change)) != 1:
            raise ValueError("give exactly one of policy, draft or change")
        return self


class CountySimulation(BaseModel):
    county: str
    eligible: int
    cost: int
    current_eligible: int
    current_cost: int
    newly_eligible: int
    no_longer_eligible: int


class SimulationTotals(BaseModel):
    eligible: int
    cost: int
    current_eligible: int
    current_cost: int
    newly_eligible: int
    no_longer_eligible: int


class SimulationPublic(BaseModel):
    as_of: date
    policy: str
    unit: str
    compared_with_version: int | None
    counties: list[CountySimulation]
    totals: SimulationTotals


async def _candidate(body: SimulationCreate, uow: Any, region: str) -> CheckedPolicy:
    if body.policy is not None:
        data = body.policy.model_dump(mode="json", exclude_none=True)
        data.pop("sources", None)  # for people only: a simulation stores and shows no policy text
        return check_policy(policy_from_dict({**data, "version": 1}))
    if body.draft is not None:
        return check_policy(store.stored_policy(await store.visible_version(uow.session, body.draft.code,
                                                                            body.draft.version, region)))
    change = body.change
    assert change is not None  # noqa: S101 - one_candidate
    active = await store.active_policy(uow.session, change.code)
    if active is None:
        raise not_found("active policy", "已启用的政策")
    policy = active.policy
    if change.criteria is not None:
        policy = dataclasses.replace(policy, criteria=tuple(
            Criterion(expr=c.expr, label=Text(c.label.zh, c.label.en),
                      unmet=Text(c.unmet.zh, c.unmet.en) if c.unmet else None) for c in change.criteria))
    if change.amount is not None:
        policy = dataclasses.replace(policy, benefit=Benefit(kind=policy.benefit.kind, amount=change.amount,
                                                             fund=policy.benefit.fund))
    return check_policy(dataclasses.replace(policy, version=policy.version + 1))


@router.post("", response_model=SimulationPublic, summary="Simulate a draft or changed policy on a date")
async def create_simulation(body: SimulationCreate, principal: Simulator, uow: UowDep) -> SimulationPublic:
    """Counts and total cost by county in the caller's region, and how many would be newly eligible or
    no longer eligible compared with the active version of the same code. Nothing is stored. A stored
    draft of another region is 404; a token without a region is 403."""
    if not principal.region:
        raise forbidden("Your token names no region to simulate over.", "您的令牌未注明辖区，无法模拟。")
    candidate = await _candidate(body, uow, principal.region)
    current = await store.active_policy(uow.session, candidate.policy.code)
    result = await simulate(uow.session, candidate, current, body.as_of, principal.region)
    await uow.rollback()
    return SimulationPublic.model_validate(result)

