"""Registry service app factory (`uvicorn --factory registry.main:create_app`)."""

from pathlib import Path

from fastapi import FastAPI

from carekit.app import create_service_app
from carekit.pii import build_vault
from registry.api import routers
from registry.api.errors import HANDLERS
from registry.events import subscriptions
from registry.settings import RegistrySettings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    app = create_service_app(
        settings=settings or RegistrySettings(),
        service_root=SERVICE_ROOT,
        title="Guanhuai Registry (关怀 · 户籍与家庭登记)",
        description="Households, persons, life events with effective dates, certificates and partner intake.",
        routers=routers,
        subscriptions=subscriptions,
        exception_handlers=HANDLERS,
    )
    app.state.vault = build_vault(app.state.settings)
    return app
