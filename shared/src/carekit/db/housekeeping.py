"""Pruning the kit's bookkeeping tables so they do not grow forever."""

from sqlalchemy import text

from carekit.db.engine import Database


async def prune(db: Database, *, idempotency_ttl_hours: float, inbox_retention_days: float) -> tuple[int, int]:
    """Delete expired idempotency keys and old inbox rows; returns (keys, inbox rows) deleted.

    Inbox rows must outlive any redelivery or replay of their event; the default 30 days is far
    beyond JetStream's duplicate window and the consumers' retry schedule.
    """
    async with db.engine.begin() as conn:
        keys = await conn.execute(
            text("DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => :s)"),
            {"s": idempotency_ttl_hours * 3600},
        )
        inbox = await conn.execute(
            text("DELETE FROM inbox WHERE handled_at < now() - make_interval(secs => :s)"),
            {"s": inbox_retention_days * 86400},
        )
    return keys.rowcount, inbox.rowcount
