"""Entitlements service app factory (`uvicorn --factory entitlements.main:create_app`)."""

from pathlib import Path

from fastapi import FastAPI

from carekit.app import create_service_app
from entitlements.api import routers
from entitlements.events import subscriptions
from entitlements.settings import EntitlementsSettings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def create_app(settings: EntitlementsSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or EntitlementsSettings(),
        service_root=SERVICE_ROOT,
        title="Guanhuai Entitlements (关怀 · 政策与资格)",
        description="Policies as data, explained decisions, cycles, simulation and real-time eligibility checks.",
        routers=routers,
        subscriptions=subscriptions,
    )
