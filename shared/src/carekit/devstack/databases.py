"""Create service databases on a server (idempotently)."""

import asyncpg

from carekit.db.engine import asyncpg_dsn


async def create_database(admin_url: str, name: str) -> bool:
    """CREATE DATABASE unless it exists; True if it was created."""
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        await conn.execute(f'CREATE DATABASE "{name}"')
        return True
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
