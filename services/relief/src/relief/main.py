"""Relief service app factory (`uvicorn --factory relief.main:create_app`)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from carekit.app import create_service_app
from relief.adapters.payments.http_provider import HttpPaymentProvider
from relief.adapters.registry import RegistryClient
from relief.api import routers
from relief.events import subscriptions
from relief.service.sending import Sender
from relief.settings import ReliefSettings

SERVICE_ROOT = Path(__file__).resolve().parents[2]


def create_app(settings: ReliefSettings | None = None) -> FastAPI:
    settings = settings or ReliefSettings()
    app = create_service_app(
        settings=settings,
        service_root=SERVICE_ROOT,
        title="Guanhuai Relief (关怀 · 救助与资金)",
        description="Care fund ledger, emergency relief, scheduled disbursement and reconciliation.",
        routers=routers,
        subscriptions=subscriptions,
    )
    kit_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with kit_lifespan(_app):
            provider = HttpPaymentProvider(
                settings.payment_provider_url,
                settings.payment_merchant_id,
                settings.payment_callback_secret.get_secret_value(),
                settings.payment_timeout_seconds,
                # idle connections are dropped before the server's keep-alive (uvicorn: 5 s) can close one
                # under a request being written (seen as a ReadError, i.e. a timeout to be queried)
                client=httpx.AsyncClient(limits=httpx.Limits(max_connections=32, keepalive_expiry=2.0)),
            )
            app.state.payment_provider = provider
            registry = RegistryClient.from_settings(settings)
            app.state.registry = registry
            sender = Sender(
                app.state.runtime,
                provider,
                registry,
                chunk=settings.payment_submit_chunk,
                concurrency=settings.payment_send_concurrency,
                poll_seconds=settings.sender_poll_seconds,
                query_after_seconds=settings.query_after_seconds,
            )
            app.state.sender = sender
            task = asyncio.create_task(sender.run(), name="disbursement-sender")
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                await registry.aclose()
                await provider.aclose()

    app.router.lifespan_context = lifespan
    return app
