"""Dependencies of the notifications views, defined once."""

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from carekit.auth.deps import require_roles
from carekit.auth.principal import Principal, Role
from carekit.pii import PiiVault
from notifications.settings import NotificationsSettings


# Coroutines: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
async def get_vault(request: Request) -> PiiVault:
    return request.app.state.vault


async def get_settings(request: Request) -> NotificationsSettings:
    return request.app.state.settings


async def get_now(request: Request) -> datetime:
    return request.app.state.clock()


VaultDep = Annotated[PiiVault, Depends(get_vault)]
SettingsDep = Annotated[NotificationsSettings, Depends(get_settings)]
NowDep = Annotated[datetime, Depends(get_now)]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
Staff = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.OPS, Role.AUDITOR, Role.CASEWORKER))]
Ops = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.OPS))]
Reader = Annotated[
    Principal, Depends(require_roles(Role.ADMIN, Role.OPS, Role.AUDITOR, Role.CASEWORKER, Role.PARTNER, Role.SERVICE))
]
