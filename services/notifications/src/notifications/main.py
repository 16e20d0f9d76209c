"""Notifications service app factory (`uvicorn --factory notifications.main:create_app`)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from carekit.app import create_service_app
from carekit.pii import build_vault
from notifications.api import routers
from notifications.api.errors import HANDLERS
from notifications.events import subscriptions_for
from notifications.service.clock import Clock, system_clock
from notifications.service.templates import seed_default_templates
from notifications.service.workers import Workers
from notifications.settings import NotificationsSettings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def create_app(settings: NotificationsSettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    settings = settings or NotificationsSettings()
    app = create_service_app(
        settings=settings,
        service_root=SERVICE_ROOT,
        title="Guanhuai Notifications (关怀 · 短信与通知)",
        description="SMS to families and signed webhooks to partner agencies.",
        routers=routers,
        subscriptions=subscriptions_for(timedelta(seconds=settings.decision_hold_seconds)),
        exception_handlers=HANDLERS,
    )
    app.state.vault = build_vault(settings)
    app.state.clock = clock
    runtime = app.state.runtime
    workers = Workers(runtime.db, app.state.vault, settings, clock)
    app.state.workers = workers
    kit_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with kit_lifespan(_app):
            await workers.start(seed=lambda: seed_default_templates(runtime.db))
            try:
                yield
            finally:
                await workers.stop()

    app.router.lifespan_context = lifespan
    return app
