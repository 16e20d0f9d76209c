"""The unit of work commits the state change, its outbox rows and the relay's wake-up together, or
none of them."""

import asyncio
import uuid

import asyncpg
import pytest
from kitapp.app import ROOT
from kitapp.eventing import scalar
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from carekit.db.engine import Database, asyncpg_dsn
from carekit.db.uow import UnitOfWork, outbox_channel
from carekit.events.envelope import new_event

INSERT_NOTE = text("INSERT INTO notes (id, region, body) VALUES (:id, '360702001001', 'x')")


def note_event(note_id: uuid.UUID):  # noqa: ANN201
    return new_event("uow.note.created", {"note_id": str(note_id)}, source="/guanhuai/uow", subject=str(note_id))


async def test_commit_writes_state_outbox_and_notify_together(migrated_database) -> None:
    url = await migrated_database("uow1", ROOT)
    listener = await asyncpg.connect(asyncpg_dsn(url))
    woken = asyncio.Event()
    await listener.add_listener(outbox_channel("uow"), lambda *_: woken.set())
    db = Database(url)
    try:
        note_id = uuid.uuid4()
        async with UnitOfWork(db, "uow") as uow:
            await uow.session.execute(INSERT_NOTE, {"id": note_id})
            uow.emit(note_event(note_id))
            uow.emit(note_event(note_id))
            assert await scalar(url, "SELECT count(*) FROM outbox") == 0  # nothing visible before commit
            await uow.commit()
        await asyncio.wait_for(woken.wait(), 5)
        assert await scalar(url, "SELECT count(*) FROM notes") == 1
        assert await scalar(url, "SELECT count(*) FROM outbox WHERE subject = 'uow.note.created'") == 2
    finally:
        await listener.close()
        await db.dispose()


async def test_a_failing_outbox_write_leaves_nothing_behind(migrated_database) -> None:
    url = await migrated_database("uow2", ROOT)
    db = Database(url)
    try:
        event = note_event(uuid.uuid4())
        with pytest.raises(IntegrityError):
            async with UnitOfWork(db, "uow") as uow:
                await uow.session.execute(INSERT_NOTE, {"id": uuid.uuid4()})
                uow.emit(event)
                uow.emit(event)  # the same event id twice violates the outbox's unique event_id
                await uow.commit()
        assert await scalar(url, "SELECT count(*) FROM notes") == 0
        assert await scalar(url, "SELECT count(*) FROM outbox") == 0
        async with UnitOfWork(db, "uow") as uow:  # the pool's connection is usable again
            await uow.session.execute(INSERT_NOTE, {"id": uuid.uuid4()})
            await uow.commit()
        assert await scalar(url, "SELECT count(*) FROM notes") == 1
    finally:
        await db.dispose()


async def test_leaving_without_commit_rolls_back_events_too(migrated_database) -> None:
    url = await migrated_database("uow3", ROOT)
    db = Database(url)
    try:
        async with UnitOfWork(db, "uow") as uow:
            note_id = uuid.uuid4()
            await uow.session.execute(INSERT_NOTE, {"id": note_id})
            uow.emit(note_event(note_id))
            await uow.flush_events()  # written inside the transaction, then abandoned
        assert await scalar(url, "SELECT count(*) FROM notes") == 0
        assert await scalar(url, "SELECT count(*) FROM outbox") == 0
    finally:
        await db.dispose()
