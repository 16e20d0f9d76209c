"""The notifications service starts on real PostgreSQL and NATS: ready, authenticated, migrated."""

from carekit.testing.service import assert_ready_and_authenticated
from notifications.main import create_app
from notifications.settings import NotificationsSettings


async def test_ready_and_authenticated(migrated_database, nats_url: str, tokens) -> None:
    db_url = await migrated_database("notifications")
    app = create_app(NotificationsSettings(database_url=db_url, nats_url=nats_url, environment="test"))
    await assert_ready_and_authenticated(app, tokens)
