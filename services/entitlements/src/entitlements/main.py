"""Entitlements service app factory (`uvicorn --factory entitlements.main:create_app`)."""

from pathlib import Path

from fastapi import FastAPI

from carekit.app import create_service_app
from carekit.pii import build_vault
from entitlements.api import routers
from entitlements.events import library, subscriptions
from entitlements.settings import EntitlementsSettings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def create_app(settings: EntitlementsSettings | None = None) -> FastAPI:
    app = create_service_app(
        settings=settings or EntitlementsSettings(),
        service_root=SERVICE_ROOT,
        title="Guanhuai Entitlements (关怀 · 政策与资格)",
        description="Policies as data, explained decisions, cycles, simulation and real-time eligibility checks.",
        routers=routers,
        subscriptions=subscriptions,
    )
    app.state.library = library()  # the YAML policy library, checked at start-up
    app.state.vault = build_vault(app.state.settings)  # the platform-wide blind index of ID numbers
    return app
