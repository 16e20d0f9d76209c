"""A running service's moving parts: database, NATS, the outbox relay and the inbox consumers."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from carekit.auth.keys import ensure_dev_keys
from carekit.auth.service_client import ServiceTokenSource
from carekit.auth.tokens import TokenIssuer, TokenVerifier
from carekit.db.engine import Database
from carekit.db.housekeeping import prune
from carekit.db.migrations import head_revision
from carekit.db.uow import UnitOfWork, outbox_channel
from carekit.events.consumer import InboxConsumer, Subscription
from carekit.events.deadletters import DeadLetterStore
from carekit.events.relay import OutboxRelay
from carekit.events.streams import dead_letter_stream, ensure_stream, service_stream
from carekit.logging import get_logger
from carekit.settings import ServiceSettings

log = get_logger(__name__)


def build_verifier(settings: ServiceSettings) -> TokenVerifier:
    keys = [settings.jwt_public_key_file] if settings.jwt_public_key_file else []
    if not keys and not settings.jwt_jwks_url:
        keys = [ensure_dev_keys()[1]]  # dev/test only: prod settings refuse to start without a key
    return TokenVerifier(
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        public_key_files=keys,
        jwks_url=settings.jwt_jwks_url,
        leeway_seconds=settings.jwt_leeway_seconds,
    )


def build_service_tokens(settings: ServiceSettings, scopes: tuple[str, ...] = ()) -> ServiceTokenSource | None:
    """This service's own token source (dev key outside prod), asking for `scopes` (e.g. `pii:read`)."""
    key_file = settings.service_signing_key_file
    if key_file is None and settings.environment != "prod":
        key_file = ensure_dev_keys()[0]
    if key_file is None:
        return None
    issuer = TokenIssuer(key_file, issuer=settings.jwt_issuer, key_id=settings.service_signing_key_id)
    return ServiceTokenSource(issuer, service_name=settings.service_name, audience=settings.jwt_audience,
                              scopes=scopes)

STOP_TIMEOUT_SECONDS = 10.0
RESTART_DELAY_SECONDS = 1.0


async def supervised(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Run a long-lived worker (relay, consumer) and start it again if it fails.

    A worker that dies on an error it did not expect (an ack that failed while NATS was away, say)
    would otherwise leave the service up and ready but deaf: its events would wait forever. Work in
    flight is safe to redo: the outbox is re-claimed after its lease, unacknowledged messages are
    redelivered and the inbox drops what was already handled."""
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - whatever stopped it, start again
            log.exception("worker failed; starting it again", worker=name)
            await asyncio.sleep(RESTART_DELAY_SECONDS)


class ServiceRuntime:
    def __init__(self, settings: ServiceSettings, service_root: Path, subscriptions: list[Subscription]) -> None:
        self.settings = settings
        self.service_root = service_root
        self.subscriptions = subscriptions
        self.db = Database(settings.database_url)
        self.expected_revision = head_revision(service_root)
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.relay: OutboxRelay | None = None
        self.consumers: dict[str, InboxConsumer] = {}
        self._tasks: list[asyncio.Task] = []
        self._nats_ready = asyncio.Event()

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.db, self.settings.service_name)

    @property
    def nats_connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    @property
    def dead_letters(self) -> DeadLetterStore | None:
        return DeadLetterStore(self.js, self.settings.service_name) if self.js else None

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._connect_and_run(), name="nats-runtime"))
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="housekeeping"))

    async def _housekeeping(self) -> None:
        s = self.settings
        while True:
            try:
                keys, inbox = await prune(self.db, idempotency_ttl_hours=s.idempotency_ttl_hours,
                                          inbox_retention_days=s.inbox_retention_days)
                if keys or inbox:
                    log.info("pruned bookkeeping", idempotency_keys=keys, inbox_rows=inbox)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - retried at the next interval
                log.warning("housekeeping failed", error=str(exc))
            await asyncio.sleep(s.housekeeping_interval_seconds)

    async def wait_until_running(self, timeout: float = 30.0) -> None:
        await asyncio.wait_for(self._nats_ready.wait(), timeout)

    async def _connect_and_run(self) -> None:
        s = self.settings
        while True:
            try:
                self.nc = await nats.connect(
                    s.nats_url, name=s.service_name, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                    connect_timeout=2,
                )
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - NATS may come up after us
                log.warning("NATS not reachable yet", url=s.nats_url, error=str(exc))
                await asyncio.sleep(1.0)
        self.js = self.nc.jetstream()
        while True:
            try:
                await ensure_stream(self.js, service_stream(
                    s.service_name, duplicate_window_seconds=s.stream_duplicate_window_seconds,
                    replicas=s.stream_replicas, max_age_seconds=s.stream_max_age_seconds))
                await ensure_stream(self.js, dead_letter_stream(s.service_name, replicas=s.stream_replicas))
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                log.warning("could not declare streams yet", error=str(exc))
                await asyncio.sleep(1.0)
        self.relay = OutboxRelay(
            dsn=self.db.dsn, js=self.js, service_name=s.service_name,
            channel=outbox_channel(s.service_name), batch_size=s.outbox_batch_size,
            lease_seconds=s.outbox_lease_seconds, poll_seconds=s.outbox_poll_seconds,
        )
        self._tasks.append(asyncio.create_task(supervised("outbox-relay", self.relay.run), name="outbox-relay"))
        for sub in self.subscriptions:
            consumer = InboxConsumer(
                db=self.db, js=self.js, service_name=s.service_name, subscription=sub,
                max_deliveries=s.consumer_max_deliveries, backoff_seconds=s.consumer_backoff_seconds,
                ack_wait_seconds=s.consumer_ack_wait_seconds, batch_size=s.consumer_batch_size,
            )
            self.consumers[sub.name] = consumer
            name = f"consumer-{sub.name}"
            self._tasks.append(asyncio.create_task(supervised(name, consumer.run), name=name))
        self._nats_ready.set()

    async def stop(self) -> None:
        for task in reversed(self._tasks):
            task.cancel()
        if self._tasks:
            # A task that swallows its cancellation (a library call that retries through it) must not
            # hold shutdown forever: wait a bounded time, name what did not stop, and go on.
            _, stuck = await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_SECONDS)
            for task in stuck:
                logging.getLogger(__name__).warning("task did not stop in time: %s", task.get_name())
            for task in self._tasks:
                if task.done() and not task.cancelled():
                    task.exception()  # retrieved, so asyncio does not warn about it
        self._tasks.clear()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
        await self.db.dispose()
