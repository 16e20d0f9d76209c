"""Dependency aliases every service's views use, defined once."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from carekit.auth.deps import CurrentPrincipal, require_roles
from carekit.db.uow import UnitOfWork
from carekit.http.pagination import PageDep
from carekit.runtime import ServiceRuntime


# A coroutine: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
async def get_runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]


async def get_uow(runtime: RuntimeDep) -> AsyncIterator[UnitOfWork]:
    async with runtime.uow() as uow:
        yield uow


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


async def get_read_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A session outside any transaction, for hot read-only endpoints (see `Database.read_sessionmaker`)."""
    async with runtime.db.read_sessionmaker() as session:
        yield session


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]

__all__ = ["CurrentPrincipal", "PageDep", "ReadSessionDep", "RuntimeDep", "UowDep", "get_runtime", "require_roles"]
