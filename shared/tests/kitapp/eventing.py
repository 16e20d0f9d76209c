"""Helpers for the event-backbone tests: a producer service A and a consumer service B."""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from carekit.db.engine import Database, asyncpg_dsn
from carekit.db.uow import UnitOfWork
from carekit.events.envelope import EventEnvelope, new_event


async def wait_for(check: Callable[[], Awaitable[bool]], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


async def scalar(url: str, sql: str) -> int:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def write_note_with_event(url: str, producer: str, region: str = "360702001001") -> EventEnvelope:
    """A state change and its event, committed together through a unit of work in service A."""
    db = Database(url)
    note_id = uuid.uuid4()
    event = new_event(f"{producer}.note.created", {"note_id": str(note_id), "region": region},
                      source=f"/guanhuai/{producer}", subject=str(note_id))
    try:
        async with UnitOfWork(db, producer) as uow:
            from sqlalchemy import text

            await uow.session.execute(text("INSERT INTO notes (id, region, body) VALUES (:id, :r, 'x')"),
                                      {"id": note_id, "r": region})
            uow.emit(event)
            await uow.commit()
    finally:
        await db.dispose()
    return event


class FlakyHandler:
    """Records the note like `record_received`, after failing the first `failures` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self, uow: UnitOfWork, event: EventEnvelope) -> None:
        from kitapp.app import record_received

        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError(f"simulated failure {self.calls}")
        await record_received(uow, event)
