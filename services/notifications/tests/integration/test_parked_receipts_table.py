"""Migration 0003 builds exactly the `parked_receipts` table the SQLModel metadata describes."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from carekit.db.engine import sqlalchemy_url
from notifications.db.tables import metadata


async def test_the_migration_matches_the_metadata(migrated_database) -> None:  # noqa: ANN001
    engine = create_async_engine(sqlalchemy_url(await migrated_database("notifications")))

    def diff(connection):  # noqa: ANN001, ANN202
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, metadata) if "parked_receipts" in repr(d)]

    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()
