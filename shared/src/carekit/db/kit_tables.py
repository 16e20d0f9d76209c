"""Tables the kit itself needs in every service database: outbox, inbox, idempotency keys.

Each service's first Alembic migration calls `create_kit_tables()`; later kit changes ship as
helpers that the services' migrations call in the same way.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

kit_metadata = MetaData()

outbox = Table(
    "outbox",
    kit_metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("subject", String(255), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
)

inbox = Table(
    "inbox",
    kit_metadata,
    Column("consumer", String(255), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("event_type", String(255), nullable=False),
    Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer", "event_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    kit_metadata,
    Column("scope", String(255), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("response_headers", JSONB, nullable=True),
    Column("response_body", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("scope", "key"),
)


def create_kit_tables(op) -> None:  # noqa: ANN001 - alembic.op
    """Create the kit's tables from inside an Alembic migration."""
    bind = op.get_bind()
    kit_metadata.create_all(bind)
    op.create_index("ix_outbox_ready", "outbox", ["lease_until", "seq"])
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def drop_kit_tables(op) -> None:  # noqa: ANN001
    kit_metadata.drop_all(op.get_bind())
