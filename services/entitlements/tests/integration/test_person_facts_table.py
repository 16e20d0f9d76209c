"""The migrations build exactly the `person_facts`, `household_projection` and `decisions` tables the
SQLModel metadata describes."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from carekit.db.engine import sqlalchemy_url
from entitlements.db.tables import metadata

OURS = ("person_facts", "household_projection", "decisions")


async def test_migration_matches_the_metadata(migrated_database) -> None:
    url = await migrated_database("entitlements")
    engine = create_async_engine(sqlalchemy_url(url))

    def diff(connection):  # noqa: ANN001, ANN202
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        # only our tables: the kit's own tables (outbox, inbox, …) are not in this metadata
        return [d for d in compare_metadata(context, metadata) if any(t in repr(d) for t in OURS)]

    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()
