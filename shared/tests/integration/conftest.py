"""A running kitapp per test module, plus direct database access for checking side effects."""

from dataclasses import dataclass

import asyncpg
import httpx
import pytest_asyncio
from fastapi import FastAPI
from kitapp.app import ROOT, make_app

from carekit.db.engine import asyncpg_dsn
from carekit.testing.service import running


@dataclass
class Kit:
    app: FastAPI
    client: httpx.AsyncClient
    database_url: str

    async def fetchval(self, sql: str, *args: object) -> object:
        conn = await asyncpg.connect(asyncpg_dsn(self.database_url))
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def kit(migrated_database, nats_url):
    url = await migrated_database("kit", ROOT)
    app = make_app("kit", url, nats_url)
    async with running(app) as client:
        yield Kit(app, client, url)
