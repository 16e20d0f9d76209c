"""The entitlements service starts on real PostgreSQL and NATS: ready, authenticated, migrated."""

from carekit.testing.service import assert_ready_and_authenticated
from entitlements.main import create_app
from entitlements.settings import EntitlementsSettings


async def test_ready_and_authenticated(migrated_database, nats_url: str, tokens) -> None:
    db_url = await migrated_database("entitlements")
    app = create_app(EntitlementsSettings(database_url=db_url, nats_url=nats_url, environment="test"))
    await assert_ready_and_authenticated(app, tokens)
