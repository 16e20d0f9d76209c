"""Entitlements service app factory (`uvicorn --factory entitlements.main:create_app`)."""

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from carekit.app import create_service_app
from carekit.pii import build_vault
from entitlements.api import routers
from entitlements.api.errors import HANDLERS
from entitlements.events import subscriptions
from entitlements.events.cycle_work import CycleWorkers
from entitlements.service.policies import seed_library
from entitlements.settings import EntitlementsSettings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


async def _seed_policies(app: FastAPI) -> None:
    """The YAML library's versions become active versions in the database (idempotent)."""
    async with app.state.runtime.uow() as uow:
        await seed_library(uow.session)
        await uow.commit()


def _run_cycle_workers(app: FastAPI) -> None:
    """Start the cycle work-queue workers with the app and stop them with it."""
    inner = app.router.lifespan_context
    settings = app.state.settings

    @asynccontextmanager
    async def lifespan(the_app: FastAPI) -> AsyncIterator[None]:
        async with inner(the_app):
            name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"
            workers = CycleWorkers(the_app.state.runtime, settings.cycle_workers, name)
            task = asyncio.create_task(workers.run(), name="cycle-workers")
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    app.router.lifespan_context = lifespan


def create_app(settings: EntitlementsSettings | None = None) -> FastAPI:
    app = create_service_app(
        settings=settings or EntitlementsSettings(),
        service_root=SERVICE_ROOT,
        title="Guanhuai Entitlements (关怀 · 政策与资格)",
        description="Policies as data, explained decisions, cycles, simulation and real-time eligibility checks.",
        routers=routers,
        subscriptions=subscriptions,
        exception_handlers=HANDLERS,
        on_startup=[_seed_policies],
    )
    if app.state.settings.cycle_queue:
        _run_cycle_workers(app)
    app.state.vault = build_vault(app.state.settings)  # the platform-wide blind index of ID numbers
    return app
