"""The relief starts on real PostgreSQL and NATS: ready, authenticated, migrated."""

from carekit.testing.service import running
from relief.main import create_app
from relief.settings import ReliefSettings


async def test_ready_and_authenticated(migrated_database, nats_url: str, tokens) -> None:
    db_url = await migrated_database("relief")
    app = create_app(ReliefSettings(database_url=db_url, nats_url=nats_url, environment="test"))
    async with running(app) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "nats": "ok"}
        anonymous = await client.get("/v1/me")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        me = await client.get("/v1/me", headers=tokens.headers(roles=["caseworker"], region="360702"))
        assert me.status_code == 200
        assert me.json()["region"] == "360702"
