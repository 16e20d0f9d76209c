"""The whole platform for end-to-end tests: the four services on real loopback ports, each with its own
migrated database, one NATS, the payment and SMS simulators and the demo partner receiver.

Tests talk to it only through public REST APIs and webhooks, as a county's systems would. The services
call each other (relief and notifications ask the registry for identifiers) and the simulators call them
back over real HTTP, so every piece runs as in `make run`, only inside the test's event loop.
"""

import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest_asyncio

from carekit.testing.service import serving
from demo.receiver import create_app as create_receiver
from simulators.payments.app import create_app as create_payment_simulator
from simulators.sms.app import create_app as create_sms_simulator
from simulators.testing import running_simulator

sys.path.insert(0, str(Path(__file__).parent))  # helpers beside the tests (families.py)


@dataclass(frozen=True)
class Platform:
    registry: str
    entitlements: str
    relief: str
    notifications: str
    payments: str
    sms: str
    receiver: str

    def client(self, service: str, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=getattr(self, service), headers=headers or {}, timeout=30)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(migrated_database, nats_url, fresh_streams) -> AsyncIterator[Platform]:
    async with start_platform(migrated_database, nats_url) as started:
        yield started


@asynccontextmanager
async def start_platform(migrated_database, nats_url: str) -> AsyncIterator[Platform]:  # noqa: ANN001
    """The four services (fresh databases), simulators and receiver, wired to each other, on `nats_url`."""
    from entitlements.main import create_app as entitlements_app
    from entitlements.settings import EntitlementsSettings
    from notifications.main import create_app as notifications_app
    from notifications.settings import NotificationsSettings
    from registry.main import create_app as registry_app
    from registry.settings import RegistrySettings
    from relief.main import create_app as relief_app
    from relief.settings import ReliefSettings

    common = {"nats_url": nats_url, "environment": "test", "outbox_poll_seconds": 0.2}
    relief_db = await migrated_database("relief")
    async with AsyncExitStack() as stack:
        payments = await stack.enter_async_context(running_simulator(create_payment_simulator, batch_callbacks=True))
        sms = await stack.enter_async_context(running_simulator(create_sms_simulator))
        receiver = await stack.enter_async_context(running_simulator(create_receiver))
        registry = await stack.enter_async_context(
            serving(registry_app(RegistrySettings(database_url=await migrated_database("registry"), **common)))
        )
        entitlements = await stack.enter_async_context(
            serving(
                entitlements_app(EntitlementsSettings(database_url=await migrated_database("entitlements"), **common))
            )
        )
        relief = await stack.enter_async_context(
            serving(
                relief_app(
                    ReliefSettings(
                        database_url=relief_db,
                        registry_url=registry,
                        payment_provider_url=payments,
                        sender_poll_seconds=0.2,
                        query_after_seconds=1.0,
                        **common,
                    )
                )
            )
        )
        notifications = await stack.enter_async_context(
            serving(
                notifications_app(
                    NotificationsSettings(
                        database_url=await migrated_database("notifications"),
                        registry_url=registry,
                        aliyun_url=f"{sms}/aliyun",
                        tencent_url=f"{sms}/tencent",
                        sender_poll_seconds=0.2,
                        webhook_poll_seconds=0.2,
                        webhook_schedule_scale=0.001,
                        webhook_allowed_networks=["127.0.0.1/32"],
                        quiet_hours_start=0,
                        quiet_hours_end=0,
                        **common,
                    )
                )
            )
        )
        async with httpx.AsyncClient(timeout=10) as admin:
            merchant = {
                "callback_url": f"{relief}/v1/provider-callbacks/simulator",
                "secret": ReliefSettings(database_url=relief_db).payment_callback_secret.get_secret_value(),
                "batch_callbacks": True,
            }
            (await admin.put(f"{payments}/_sim/merchants/guanhuai-relief", json=merchant)).raise_for_status()
            (
                await admin.put(
                    f"{sms}/_sim/urls",
                    json={
                        f"{p}_{kind}_url": f"{notifications}/v1/providers/{p}/{kind}"
                        for p in ("aliyun", "tencent")
                        for kind in ("receipts", "inbound")
                    },
                )
            ).raise_for_status()
        yield Platform(registry, entitlements, relief, notifications, payments, sms, receiver)
