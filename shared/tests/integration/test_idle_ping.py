"""The pool pings a connection only after it sat idle, and replaces one the server closed meanwhile."""

import asyncio

import asyncpg
from kitapp.app import ROOT

from carekit.db.engine import Database, asyncpg_dsn


async def _kill_backends(admin_url: str, database: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        return await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await conn.close()


async def _backend_pid(db: Database) -> int:
    async with db.engine.connect() as conn:
        return (await conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()


async def test_an_idle_connection_killed_by_the_server_is_replaced(migrated_database, pg_admin_url) -> None:
    url = await migrated_database("idleping", ROOT)
    db = Database(url, pool_size=1, idle_ping_seconds=0.2)
    try:
        first = await _backend_pid(db)
        assert await _kill_backends(pg_admin_url, url.rsplit("/", 1)[1]) == 1
        await asyncio.sleep(0.3)  # idle past the threshold: the next checkout pings and reconnects
        assert await _backend_pid(db) != first
    finally:
        await db.dispose()


async def test_a_connection_in_steady_use_is_not_pinged(migrated_database, pg_admin_url) -> None:
    url = await migrated_database("busyping", ROOT)
    db = Database(url, pool_size=1, idle_ping_seconds=60.0)
    pings: list[int] = []
    dialect = db.engine.sync_engine.dialect
    real_ping = dialect.do_ping

    def counting_ping(dbapi_connection: object) -> bool:
        pings.append(1)
        return real_ping(dbapi_connection)

    dialect.do_ping = counting_ping  # type: ignore[method-assign]
    try:
        pids = {await _backend_pid(db) for _ in range(5)}
        assert len(pids) == 1 and pings == []
    finally:
        await db.dispose()
