"""Dependencies of the entitlements' views, defined once."""

from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Request

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.china import CHINA
from carekit.deps import RuntimeDep
from carekit.pii import PiiVault
from entitlements.domain.policy import CheckedPolicy
from entitlements.service.policies import active_policies


def today() -> date:
    """Today in China: evaluation dates are civil dates there."""
    return datetime.now(CHINA).date()


# The dependencies are coroutines: FastAPI runs a plain `def` dependency in its thread pool, a thread hop
# per request that costs more than the work here.
async def get_today() -> date:
    return today()


async def get_vault(request: Request) -> PiiVault:
    return request.app.state.vault


async def get_library(runtime: RuntimeDep) -> tuple[CheckedPolicy, ...]:
    """The active policy versions (stored in this service's database, cached per process).

    A session of its own, closed before the view runs: the cache is checked against the database about
    once a second, and holding that connection beside the view's own would let a burst of requests
    take every connection of the pool and wait on each other."""
    async with runtime.db.sessionmaker() as session, session.begin():
        return await active_policies(session)


VaultDep = Annotated[PiiVault, Depends(get_vault)]
LibraryDep = Annotated[tuple[CheckedPolicy, ...], Depends(get_library)]
TodayDep = Annotated[date, Depends(get_today)]
Explainer = Annotated[Principal, Depends(require_roles(Role.CASEWORKER, Role.ADMIN, Role.AUDITOR))]
Partner = Annotated[Principal, Depends(require_roles(Role.PARTNER))]
