"""Dependency aliases every service's views use, defined once."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from carekit.auth.deps import CurrentPrincipal, require_roles
from carekit.db.uow import UnitOfWork
from carekit.http.pagination import PageDep
from carekit.runtime import ServiceRuntime


def get_runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]


async def get_uow(runtime: RuntimeDep) -> AsyncIterator[UnitOfWork]:
    async with runtime.uow() as uow:
        yield uow


UowDep = Annotated[UnitOfWork, Depends(get_uow)]

__all__ = ["CurrentPrincipal", "PageDep", "RuntimeDep", "UowDep", "get_runtime", "require_roles"]
