"""HTTP views of the notifications. Each module holds one resource's router."""

from fastapi import APIRouter

from notifications.api import event_types, messages, providers, reports, templates, webhooks

routers: list[APIRouter] = [
    templates.router,
    messages.router,
    providers.router,
    reports.router,
    webhooks.router,
    event_types.router,
]
