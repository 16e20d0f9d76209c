"""Dependencies and role aliases of the relief's views, defined once."""

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.http.problems import ProblemError
from relief.domain.ledger import LedgerError
from relief.settings import ReliefSettings

CHINA = ZoneInfo("Asia/Shanghai")


def today() -> date:
    """Today in China: payment dates and periods are civil dates there."""
    return datetime.now(CHINA).date()


# Coroutines: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
async def get_today() -> date:
    return today()


async def get_settings(request: Request) -> ReliefSettings:
    return request.app.state.settings


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
