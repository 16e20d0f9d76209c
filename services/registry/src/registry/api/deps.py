"""Dependencies of the registry's views, defined once."""

from datetime import date, datetime
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.china import CHINA
from carekit.pii import PiiVault
from registry.data import division_csv_text
from registry.domain.divisions import DivisionTable, parse_division_csv


@lru_cache(maxsize=1)
def division_table() -> DivisionTable:
    return parse_division_csv(division_csv_text())


def today() -> date:
    """Today in China: effective dates are civil dates there."""
    return datetime.now(CHINA).date()


# The dependencies are coroutines: FastAPI runs a plain `def` dependency in its thread pool, a thread hop
# per request that costs more than the work here.
async def get_vault(request: Request) -> PiiVault:
    return request.app.state.vault


async def get_divisions() -> DivisionTable:
    return division_table()


async def get_today() -> date:
    return today()


VaultDep = Annotated[PiiVault, Depends(get_vault)]
DivisionsDep = Annotated[DivisionTable, Depends(get_divisions)]
TodayDep = Annotated[date, Depends(get_today)]
Caseworker = Annotated[Principal, Depends(require_roles(Role.CASEWORKER, Role.ADMIN))]
Reader = Annotated[Principal, Depends(require_roles(Role.CASEWORKER, Role.ADMIN, Role.AUDITOR, Role.SERVICE))]
# Reads a citizen may make too, of their own household and person only (`registry.domain.jurisdiction`).
FamilyReader = Annotated[Principal, Depends(require_roles(Role.CASEWORKER, Role.ADMIN, Role.AUDITOR, Role.SERVICE,
                                                          Role.CITIZEN))]
