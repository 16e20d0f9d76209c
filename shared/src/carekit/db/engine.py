"""Async database access: SQLAlchemy async engine on asyncpg, plus raw asyncpg for the hot paths."""

import time

from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

# A pooled connection idle longer than this is pinged before use. SQLAlchemy's `pool_pre_ping`
# pings on every checkout, which on asyncpg is three round trips (BEGIN; SELECT; ROLLBACK) — more
# than a one-event write itself. A connection in steady use is not pinged; one that broke while in
# use fails that one statement and SQLAlchemy then recycles every older connection of the pool.
IDLE_PING_SECONDS = 5.0


def asyncpg_dsn(url: str) -> str:
    """The same URL in the form asyncpg accepts (no `+asyncpg` driver suffix)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def sqlalchemy_url(url: str) -> str:
    """The same URL with the asyncpg driver named, as SQLAlchemy wants it."""
    if url.startswith("postgresql://"):
        return url.replace("postgresql://", "postgresql+asyncpg://", 1)
    if url.startswith("postgres://"):
        return url.replace("postgres://", "postgresql+asyncpg://", 1)
    return url


def ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a pooled connection at checkout only if it sat idle for `idle_seconds` or more.

    A dead connection raises `DisconnectionError`, on which the pool replaces it and checks out
    again (SQLAlchemy's documented custom pessimistic ping).
    """
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(dbapi_connection: object, record: object) -> None:
        record.info["idle_since"] = time.monotonic()  # type: ignore[attr-defined]

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: object, record: object, proxy: object) -> None:
        idle_since = record.info.pop("idle_since", None)  # type: ignore[attr-defined]
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return  # new, or in steady use
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failure means: replace this connection
            raise DisconnectionError(str(exc)) from exc


class Database:
    """One service's database: an engine, a session factory and a couple of probes."""

    def __init__(
        self, url: str, *, pool_size: int = 10, echo: bool = False, idle_ping_seconds: float = IDLE_PING_SECONDS
    ) -> None:
        self.url = sqlalchemy_url(url)
        self.engine: AsyncEngine = create_async_engine(
            self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False, echo=echo
        )
        ping_when_idle(self.engine, idle_ping_seconds)
        self.sessionmaker = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        # Sessions for lone reads (no BEGIN/ROLLBACK round trips around them): each statement sees
        # its own snapshot, so only for reads that need no consistency between statements.
        self.read_sessionmaker = async_sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"), class_=AsyncSession, expire_on_commit=False
        )

    @property
    def dsn(self) -> str:
        return asyncpg_dsn(self.url)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def current_revision(self) -> str | None:
        async with self.engine.connect() as conn:
            if (await conn.execute(text("SELECT to_regclass('alembic_version')"))).scalar() is None:
                return None  # never migrated
            result = await conn.execute(text("SELECT version_num FROM alembic_version"))
            return result.scalar_one_or_none()

    async def dispose(self) -> None:
        await self.engine.dispose()
