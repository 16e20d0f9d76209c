"""Dependencies of the registry's views, defined once."""

from datetime import date, datetime
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.pii import PiiVault
from registry.data import division_csv_text
from registry.domain.divisions import DivisionTable, parse_division_csv

CHINA = ZoneInfo("Asia/Shanghai")


@lru_cache(maxsize=1)
def division_table() -> DivisionTable:
    return parse_division_csv(division_csv_text())


def today() -> date:
    """Today in China: effective dates are civil dates there."""
    return datetime.now(CHINA).date()


def get_vault(request: Request) -> PiiVault:
    return request.app.state.vault


VaultDep = Annotated[PiiVault, Depends(get_vault)]
DivisionsDep = Annotated[DivisionTable, Depends(division_table)]
TodayDep = Annotated[date, Depends(today)]
Caseworker = Annotated[Principal, Depends(require_roles(Role.CASEWORKER, Role.ADMIN))]
Reader = Annotated[Principal, Depends(require_roles(Role.CASEWORKER, Role.ADMIN, Role.AUDITOR, Role.SERVICE))]
