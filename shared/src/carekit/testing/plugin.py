"""pytest plugin: one embedded PostgreSQL and one embedded NATS per test session.

Each test module gets fresh databases migrated with Alembic (`migrated_database`) and a NATS
server with no streams left from other modules. Set `TEST_DATABASE_URL` (an admin URL on a server
where `t_*` databases may be created and dropped) and/or `TEST_NATS_URL` (a server whose streams
may ALL be deleted) to test against servers of your own instead. The names differ from the
services' own settings on purpose, so that a shell set up for `make run` never gets wiped.
"""

import asyncio
import importlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import nats
import pytest
import pytest_asyncio

from carekit.db.migrations import upgrade_to_head
from carekit.devstack.databases import create_database, drop_database
from carekit.devstack.servers import EmbeddedNats, EmbeddedPostgres
from carekit.testing.tokens import TokenFactory

MigratedDatabase = Callable[..., Awaitable[str]]


@pytest.fixture(scope="session", autouse=True)
def _data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Dev keys and other local state live in a throw-away folder during tests."""
    path = tmp_path_factory.mktemp("guanhuai-data")
    previous = os.environ.get("GUANHUAI_DATA_DIR")
    os.environ["GUANHUAI_DATA_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("GUANHUAI_DATA_DIR", None)
    else:
        os.environ["GUANHUAI_DATA_DIR"] = previous


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", fast=True).start()
    try:
        yield server.admin_url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("TEST_NATS_URL"):
        yield os.environ["TEST_NATS_URL"]
        return
    server = EmbeddedNats(tmp_path_factory.mktemp("nats")).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[EmbeddedNats]:
    """A NATS server of the test's own, for tests that stop and restart it."""
    server = EmbeddedNats(tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


async def delete_all_streams(url: str) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            await js.delete_stream(info.config.name)
    finally:
        await nc.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session", autouse=True)
async def fresh_streams(request: pytest.FixtureRequest) -> None:
    """Modules that use NATS start with no streams (producers declare theirs at start-up)."""
    if "nats_url" in request.fixturenames:
        await delete_all_streams(request.getfixturevalue("nats_url"))


def service_root(service: str) -> Path:
    return importlib.import_module(f"{service}.main").SERVICE_ROOT


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def migrated_database(pg_admin_url: str) -> AsyncIterator[MigratedDatabase]:
    """`await migrated_database("registry")` → URL of a new database migrated to head."""
    created: list[str] = []
    base = pg_admin_url.rsplit("/", 1)[0]

    async def make(service: str, root: Path | None = None) -> str:
        name = f"t_{service}_{uuid.uuid4().hex[:10]}"
        await create_database(pg_admin_url, name)
        created.append(name)
        url = f"{base}/{name}"
        await asyncio.to_thread(upgrade_to_head, root or service_root(service), url)
        return url

    yield make
    for name in created:
        await drop_database(pg_admin_url, name)


@pytest.fixture(scope="session")
def tokens(_data_dir: Path) -> TokenFactory:
    return TokenFactory()
