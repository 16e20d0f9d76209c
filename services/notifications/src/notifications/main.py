"""Notifications service app factory (`uvicorn --factory notifications.main:create_app`)."""

from pathlib import Path

from fastapi import FastAPI

from carekit.app import create_service_app
from notifications.api import routers
from notifications.events import subscriptions
from notifications.settings import NotificationsSettings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or NotificationsSettings(),
        service_root=SERVICE_ROOT,
        title="Guanhuai Notifications (关怀 · 短信与通知)",
        description="SMS to families and signed webhooks to partner agencies.",
        routers=routers,
        subscriptions=subscriptions,
    )
