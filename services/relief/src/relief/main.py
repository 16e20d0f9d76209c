"""Relief service app factory (`uvicorn --factory relief.main:create_app`)."""

from pathlib import Path

from fastapi import FastAPI

from carekit.app import create_service_app
from relief.api import routers
from relief.events import subscriptions
from relief.settings import ReliefSettings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def create_app(settings: ReliefSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or ReliefSettings(),
        service_root=SERVICE_ROOT,
        title="Guanhuai Relief (关怀 · 救助与资金)",
        description="Care fund ledger, emergency relief, scheduled disbursement and reconciliation.",
        routers=routers,
        subscriptions=subscriptions,
    )
