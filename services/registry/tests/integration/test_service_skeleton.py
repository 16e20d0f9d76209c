"""The registry service starts on real PostgreSQL and NATS: ready, authenticated, migrated."""

from carekit.testing.service import assert_ready_and_authenticated
from registry.main import create_app
from registry.settings import RegistrySettings


async def test_ready_and_authenticated(migrated_database, nats_url: str, tokens) -> None:
    db_url = await migrated_database("registry")
    app = create_app(RegistrySettings(database_url=db_url, nats_url=nats_url, environment="test"))
    await assert_ready_and_authenticated(app, tokens)
