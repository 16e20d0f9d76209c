"""`/readyz` tells what is wrong; `/metrics` shows request latency, outbox and consumer figures."""

from kitapp.app import ROOT, make_app, notes_subscription

from carekit.devstack.databases import create_database
from carekit.testing.service import running


async def test_not_ready_when_migrations_are_behind(pg_admin_url, nats_url) -> None:
    await create_database(pg_admin_url, "t_unmigrated")
    url = pg_admin_url.rsplit("/", 1)[0] + "/t_unmigrated"
    async with running(make_app("c1", url, nats_url)) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["migrations"] != "ok"


async def test_not_ready_without_nats(migrated_database) -> None:
    url = await migrated_database("c2", ROOT)
    app = make_app("c2", url, "nats://127.0.0.1:1")
    async with running(app, wait_for_nats=False) as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["nats"] == "disconnected"


async def test_metrics_cover_requests_outbox_and_consumers(migrated_database, nats_url, tokens) -> None:
    url = await migrated_database("c3", ROOT)
    app = make_app("c3", url, nats_url, [notes_subscription("c3")])
    async with running(app) as client:
        headers = tokens.headers(roles=["caseworker"], region="360702")
        await client.post("/v1/notes", json={"region": "360702001001", "body": "x"}, headers=headers)
        text = (await client.get("/metrics")).text
    assert 'http_request_duration_seconds_count{method="POST",route="/v1/notes",service="c3",status="201"}' in text
    assert 'outbox_backlog{service="c3"}' in text
    assert 'outbox_oldest_age_seconds{service="c3"}' in text
    assert 'consumer_lag{consumer="c3-notes",service="c3"}' in text
    assert 'dead_letter_backlog{service="c3"}' in text


async def test_housekeeping_prunes_only_expired_rows(migrated_database) -> None:
    import asyncpg

    from carekit.db.engine import Database, asyncpg_dsn
    from carekit.db.housekeeping import prune

    url = await migrated_database("c4", ROOT)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(
            "INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES "
            "('s', 'old', 'h', now() - interval '2 days'), ('s', 'new', 'h', now())")
        await conn.execute(
            "INSERT INTO inbox (consumer, event_id, event_type, handled_at) VALUES "
            "('c', gen_random_uuid(), 't', now() - interval '40 days'), ('c', gen_random_uuid(), 't', now())")
        db = Database(url)
        assert await prune(db, idempotency_ttl_hours=24, inbox_retention_days=30) == (1, 1)
        await db.dispose()
        assert await conn.fetchval("SELECT key FROM idempotency_keys") == "new"
        assert await conn.fetchval("SELECT count(*) FROM inbox") == 1
    finally:
        await conn.close()
