"""Dependencies and role aliases of the relief's views, defined once."""

from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BeforeValidator

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.china import CHINA
from carekit.http.problems import ProblemError
from relief.adapters.registry import RegistryClient
from relief.domain.ledger import LedgerError
from relief.settings import ReliefSettings


def today() -> date:
    """Today in China: payment dates and periods are civil dates there."""
    return datetime.now(CHINA).date()


# Coroutines: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
async def get_today() -> date:
    return today()


def _written_date(value: object) -> object:
    """A date is written YYYY-MM-DD, as the schema says; a number is not read as days since 1970."""
    if isinstance(value, int | float):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


# A date in a JSON body (the body is validated in Python mode, where 0 would be 1970-01-01).
WrittenDate = Annotated[date, BeforeValidator(_written_date)]


async def get_settings(request: Request) -> ReliefSettings:
    return request.app.state.settings


async def get_registry(request: Request) -> RegistryClient:
    return request.app.state.registry


# The policy library names its funds in upper case with hyphens (FP-REWARD); cycles arrive with those codes.
FUND_CODE = r"^[A-Za-z][A-Za-z0-9_-]{1,47}$"

MAX_OFFSET = 1_000_000  # a page further than this is no page anyone reads (and bigger numbers overflow SQL)

RegistryDep = Annotated[RegistryClient, Depends(get_registry)]
SettingsDep = Annotated[ReliefSettings, Depends(get_settings)]
TodayDep = Annotated[date, Depends(get_today)]
FundManager = Annotated[Principal, Depends(require_roles(Role.FUND_MANAGER))]
LedgerReader = Annotated[Principal, Depends(require_roles(Role.AUDITOR, Role.FUND_MANAGER))]
FundReader = Annotated[Principal, Depends(require_roles(Role.AUDITOR, Role.FUND_MANAGER, Role.APPROVER))]
Applicant = Annotated[Principal, Depends(require_roles(Role.CASEWORKER, Role.CITIZEN))]
Approver = Annotated[Principal, Depends(require_roles(Role.APPROVER))]
CaseReader = Annotated[
    Principal, Depends(require_roles(Role.CASEWORKER, Role.APPROVER, Role.AUDITOR, Role.FUND_MANAGER, Role.CITIZEN))
]


def sees_region(principal: Principal, region: str | None) -> bool:
    """Whether a record of `region` (a division-code prefix; None: of no region) is the caller's to see.
    A record of no region, like the ledger's shared accounts from before regions, only services see."""
    if principal.is_service:
        return True
    return region is not None and principal.covers(region.ljust(12, "0"))


def scope_region(principal: Principal) -> str | None:
    """The region an invariant check covers: None (everything) for services; "-" (nothing) without one."""
    return None if principal.is_service else principal.region or "-"


_STATUS = {
    "insufficient-funds": 422,
    "transfer-id-reused": 409,
    "pending-already-resolved": 409,
    "unknown-account": 422,
    "pending-not-found": 422,
}


def ledger_problem(error: LedgerError) -> ProblemError:
    """A ledger refusal as problem+json (nothing was written: the transaction is rolled back)."""
    status = _STATUS.get(error.code, 422)
    return ProblemError(status, error.code, "Ledger refused the transfer", error.message, "账务拒绝该转账", error.zh)
