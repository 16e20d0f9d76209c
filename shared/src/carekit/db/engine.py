"""Async database access: SQLAlchemy async engine on asyncpg, plus raw asyncpg for the hot paths."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


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


class Database:
    """One service's database: an engine, a session factory and a couple of probes."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = sqlalchemy_url(url)
        self.engine: AsyncEngine = create_async_engine(
            self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, echo=echo
        )
        self.sessionmaker = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)

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
