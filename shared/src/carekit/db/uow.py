"""Unit of work: one transaction that commits state and outbox rows together."""

from types import TracebackType

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from carekit.db.engine import Database
from carekit.events.envelope import EventEnvelope

# Outbox rows and the relay's wake-up in one round trip. NOTIFY is transactional: the relay hears
# it only if this transaction commits.
OUTBOX_INSERT = text(
    "WITH written AS (INSERT INTO outbox (event_id, subject, payload) "
    "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:subjects AS varchar[]), CAST(:payloads AS bytea[])) "
    "RETURNING 1) SELECT pg_notify(:channel, '')"
)


def outbox_channel(service_name: str) -> str:
    """The LISTEN/NOTIFY channel a service's outbox relay waits on."""
    return f"outbox_{service_name}"


def _write_outbox_and_commit(session: Session, params: dict | None) -> None:
    if params is not None:
        session.execute(OUTBOX_INSERT, params)
    session.commit()


class UnitOfWork:
    """`async with UnitOfWork(db, service) as uow:` … `uow.emit(event)` … `await uow.commit()`.

    Leaving the block without `commit()` rolls everything back, events included.
    """

    def __init__(self, db: Database, service_name: str) -> None:
        self._db = db
        self._channel = outbox_channel(service_name)
        self._events: list[EventEnvelope] = []
        self.session: AsyncSession

    async def __aenter__(self) -> "UnitOfWork":
        self.session = self._db.sessionmaker()
        self._events = []
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.session.in_transaction():
            await self.session.rollback()
        await self.session.close()

    def emit(self, event: EventEnvelope) -> None:
        """Queue an event; it is written to the outbox in the same transaction at commit."""
        self._events.append(event)

    def _take_outbox_params(self) -> dict | None:
        if not self._events:
            return None
        events, self._events = self._events, []
        return {
            "ids": [e.id for e in events],
            "subjects": [e.type for e in events],
            "payloads": [e.to_json() for e in events],
            "channel": self._channel,
        }

    async def flush_events(self) -> None:
        params = self._take_outbox_params()
        if params is not None:
            await self.session.execute(OUTBOX_INSERT, params)

    async def commit(self) -> None:
        # The outbox insert and COMMIT in one hop into SQLAlchemy's sync core (one greenlet switch
        # instead of two); on the hot path of every write.
        await self.session.run_sync(_write_outbox_and_commit, self._take_outbox_params())

    async def rollback(self) -> None:
        self._events = []
        await self.session.rollback()
