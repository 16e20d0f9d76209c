"""The cycle work queue on JetStream: two service processes' workers share a cycle's county items, and
the lines equal those of one worker doing every item alone."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from entitlements_support import BEREAVED, DISABLED, TWO_DAUGHTERS, household, load_rows
from registry_events import fetch
from sqlalchemy.ext.asyncio import create_async_engine

from carekit.db.engine import Database, sqlalchemy_url
from carekit.testing.service import running
from entitlements.main import create_app
from entitlements.service import cycles
from entitlements.settings import EntitlementsSettings

FAMILIES = tuple(dataclasses.replace(family, name=f"q-{family.name}-{i}",
                                     division=f"3607{10 + i % 12:02d}{1 + i % 4:03d}001")
                 for i in range(120) for family in (TWO_DAUGHTERS, BEREAVED, DISABLED))
LINES = "SELECT subject_id, payee_person_id, amount, region_code FROM cycle_lines WHERE cycle_id = $1::uuid " \
        "ORDER BY subject_id"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def two_processes(migrated_database, nats_url) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    url = await migrated_database("entitlements")
    engine = create_async_engine(sqlalchemy_url(url))
    async with engine.begin() as conn:
        await load_rows(conn, [row for family in FAMILIES for row in household(family)])
    await engine.dispose()

    def settings() -> EntitlementsSettings:
        return EntitlementsSettings(database_url=url, nats_url=nats_url, environment="test", outbox_poll_seconds=0.2,
                                    cycle_queue=True, cycle_workers=1)
    async with running(create_app(settings())) as client, running(create_app(settings())):
        yield client, url


async def test_queued_cycle_equals_one_worker(two_processes, tokens) -> None:
    client, url = two_processes
    admin = tokens.headers(sub="maker", roles=["admin"], region="3607")
    created = await client.post("/v1/cycles", json={"policy": "special-assistance-bereaved", "period": "2026-07"},
                                headers=admin)
    assert created.status_code == 201, created.text
    cycle_id = created.json()["id"]
    for _ in range(100):
        cycle = (await client.get(f"/v1/cycles/{cycle_id}", headers=admin)).json()
        if cycle["status"] == "ready":
            break
        await asyncio.sleep(0.1)
    assert cycle["status"] == "ready", cycle
    items = await fetch(url, "SELECT area_code, status, done_by FROM cycle_work_items WHERE cycle_id = $1::uuid",
                        cycle_id)
    assert len(items) == 12 and {r["status"] for r in items} == {"done"}
    queued = [tuple(r) for r in await fetch(url, LINES, cycle_id)]
    assert len(queued) == cycle["total_lines"] == 240  # both parents of the 120 bereaved families

    # the same cycle from scratch by one worker alone
    await fetch(url, "DELETE FROM cycle_lines WHERE cycle_id = $1::uuid", cycle_id)
    await fetch(url, "UPDATE cycle_work_items SET status = 'pending' WHERE cycle_id = $1::uuid", cycle_id)
    await fetch(url, "UPDATE cycles SET status = 'evaluating' WHERE id = $1::uuid", cycle_id)
    db = Database(url)
    try:
        assert await cycles.run_work_items(db, cycle_id, "solo") == 12
    finally:
        await db.engine.dispose()
    assert [tuple(r) for r in await fetch(url, LINES, cycle_id)] == queued
