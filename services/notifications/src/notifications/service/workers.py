"""Background workers of a running notifications service: the SMS sender, the sweep of parked receipts and
the webhook dispatcher."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import httpx

from carekit.auth.service_client import service_http_client
from carekit.db.engine import Database
from carekit.logging import get_logger
from carekit.pii import PiiVault
from notifications.adapters.providers import build_providers
from notifications.adapters.registry import RegistryClient, registry_tokens
from notifications.adapters.sms.base import SmsProvider
from notifications.service.clock import Clock
from notifications.service.dispatcher import Dispatcher
from notifications.service.receipts import ReceiptSweeper
from notifications.service.sender import Sender
from notifications.settings import NotificationsSettings

log = get_logger(__name__)


class Workers:
    def __init__(self, db: Database, vault: PiiVault, settings: NotificationsSettings, clock: Clock) -> None:
        self.db, self.vault, self.settings, self.clock = db, vault, settings, clock
        self.sender: Sender | None = None
        self.providers: dict[str, SmsProvider] = {}
        self.dispatcher: Dispatcher | None = None
        self.sweeper = ReceiptSweeper(db, settings)
        self._clients: list[httpx.AsyncClient] = []
        self._tasks: list[asyncio.Task] = []

    def _client(self, connections: int, **kwargs) -> httpx.AsyncClient:  # noqa: ANN003
        # As many connections as requests in flight: httpx's pool scans every connection per request.
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        client = httpx.AsyncClient(limits=limits, **kwargs)
        self._clients.append(client)
        return client

    def build(self) -> None:
        s = self.settings
        tokens = registry_tokens(s)
        if tokens is not None:
            registry_http = service_http_client(s.registry_url, tokens, timeout=s.registry_timeout_seconds)
            self._clients.append(registry_http)
            try:
                providers = build_providers(s, self._client(2 * s.sms_concurrency, timeout=s.sms_timeout_seconds))
            except ImportError as exc:  # the C5 adapters are not installed yet
                log.warning("SMS providers unavailable", error=str(exc))
                providers = {}
            self.providers = providers
            if providers:
                self.sender = Sender(self.db, RegistryClient(registry_http), providers, self.vault, s, self.clock)
        self.dispatcher = Dispatcher(
            self.db, self.vault, s, self._client(s.webhook_concurrency, timeout=s.webhook_timeout_seconds)
        )

    async def start(self, seed: Callable[[], Awaitable[None]] | None = None) -> None:
        self.build()
        if seed is not None:
            try:
                await seed()
            except Exception as exc:  # noqa: BLE001 - the database may come up after us
                log.warning("could not seed default templates yet", error=str(exc))
                self._tasks.append(asyncio.create_task(self._seed(seed), name="seed-templates"))
        if self.sender is not None and self.settings.sender_enabled:
            for i in range(self.settings.sender_workers):
                self._tasks.append(asyncio.create_task(self.sender.run(), name=f"sms-sender-{i}"))
        self._tasks.append(asyncio.create_task(self.sweeper.run(), name="parked-receipt-sweep"))
        if self.dispatcher is not None and self.settings.webhooks_enabled:
            for i in range(self.settings.webhook_workers):
                self._tasks.append(asyncio.create_task(self.dispatcher.run(), name=f"webhook-dispatcher-{i}"))

    async def _seed(self, seed: Callable[[], Awaitable[None]]) -> None:
        """The default templates, retried until the database answers (the service starts without it)."""
        await asyncio.sleep(1.0)
        while True:
            try:
                await seed()
                return
            except Exception as exc:  # noqa: BLE001
                log.warning("could not seed default templates yet", error=str(exc))
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for client in self._clients:
            await client.aclose()
