"""Dependencies of the entitlements' views, defined once."""

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.pii import PiiVault
from fastapi import Depends, Request

from entitlements.domain.policy import CheckedPolicy

CHINA = ZoneInfo("Asia/Shanghai")


def today() -> date:
    """Today in China: evaluation dates are civil dates there."""
    return datetime.now(CHINA).date()


def get_vault(request: Request) -> PiiVault:
    return request.app.state.vault


def get_library(request: Request) -> tuple[CheckedPolicy, ...]:
    return request.app.state.library


VaultDep = Annotated[PiiVault, Depends(get_vault)]
LibraryDep = Annotated[tuple[CheckedPolicy, ...], Depends(get_library)]
TodayDep = Annotated[date, Depends(today)]
Explainer = Annotated[Principal, Depends(require_roles(Role.CASEWORKER, Role.ADMIN, Role.AUDITOR))]
Partner = Annotated[Principal, Depends(require_roles(Role.PARTNER))]
