"""The registry's tables (SQLModel). Table classes are never returned by the API: views map them to
the `*Public` models in `api/`. Alembic migrations are written against this metadata.

Every change to a person or household is a row in `life_events` (append-only: the database refuses
UPDATE and DELETE). `persons`, `households`, `certificates` and `household_facts` hold the current
state for fast reads, searches and uniqueness; as-of reads replay the life events.
"""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, Integer, LargeBinary, UniqueConstraint, Uuid, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata


def _now_column() -> Any:
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


class HouseholdRecord(SQLModel, table=True):
    __tablename__ = "households"
    id: uuid.UUID = Field(primary_key=True)
    division_code: str = Field(max_length=12, index=True)
    hukou_type: str = Field(max_length=8)
    residence_division_code: str | None = Field(default=None, max_length=12, index=True)
    address: str = Field(default="")
    external_ref: str | None = Field(default=None, max_length=64)  # 户编号 of an import; unique per division
    status: str = Field(default="active", max_length=16)
    version: int = Field(default=1)
    created_by: str = Field(default="")
    created_at: datetime = Field(sa_column=_now_column())
    updated_at: datetime = Field(sa_column=_now_column())


class PersonRecord(SQLModel, table=True):
    __tablename__ = "persons"
    __table_args__ = (
        Index("ix_persons_duplicate_probe", "name", "birth_date"),
        Index("ix_persons_pinyin_prefix", "name_pinyin", postgresql_ops={"name_pinyin": "text_pattern_ops"}),
    )
    id: uuid.UUID = Field(primary_key=True)
    household_id: uuid.UUID = Field(foreign_key="households.id", index=True)
    name: str = Field(max_length=64)  # equality: ix_persons_duplicate_probe (name, birth_date)
    name_pinyin: str = Field(default="", max_length=256)  # ix_persons_pinyin_prefix
    name_initials: str = Field(default="", max_length=64, index=True)
    sex: str = Field(max_length=6)
    birth_date: date = Field(index=True)
    relation: str = Field(max_length=16)
    mother_id: uuid.UUID | None = Field(default=None, foreign_key="persons.id", index=True)
    father_id: uuid.UUID | None = Field(default=None, foreign_key="persons.id", index=True)
    id_number_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    id_number_key_id: str | None = Field(default=None, max_length=32)
    id_number_index: str | None = Field(default=None, max_length=64, unique=True)
    phone_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    phone_key_id: str | None = Field(default=None, max_length=32)
    bank_account_cipher: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    bank_account_key_id: str | None = Field(default=None, max_length=32)
    death_date: date | None = Field(default=None)
    merged_into: uuid.UUID | None = Field(default=None, foreign_key="persons.id")
    version: int = Field(default=1)
    created_at: datetime = Field(sa_column=_now_column())
    updated_at: datetime = Field(sa_column=_now_column())


class LifeEventRecord(SQLModel, table=True):
    __tablename__ = "life_events"
    seq: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), unique=True, nullable=False))
    id: uuid.UUID = Field(primary_key=True)
    household_id: uuid.UUID = Field(foreign_key="households.id", index=True)
    person_id: uuid.UUID | None = Field(default=None, foreign_key="persons.id", index=True)
    kind: str = Field(max_length=32)
    effective_date: date
    recorded_at: datetime = Field(sa_column=_now_column())
    recorded_by: str  # a token subject (text: OpenID Connect allows 255 characters)
    source: str = Field(default="caseworker", max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    supersedes: uuid.UUID | None = Field(default=None, foreign_key="life_events.id")


class CertificateRecord(SQLModel, table=True):
    """Only-Child Parents' Honour Certificates (独生子女父母光荣证): a projection of life events."""

    __tablename__ = "certificates"
    id: uuid.UUID = Field(primary_key=True)
    household_id: uuid.UUID = Field(foreign_key="households.id", index=True)
    number: str = Field(max_length=64, unique=True)
    issued_on: date
    revoked_on: date | None = None


class HouseholdFactsRecord(SQLModel, table=True):
    """The household's facts as last computed (as of the day of its latest change)."""

    __tablename__ = "household_facts"
    household_id: uuid.UUID = Field(foreign_key="households.id", primary_key=True)
    division_code: str = Field(max_length=12, index=True)
    as_of: date
    facts: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))


class AuditRecord(SQLModel, table=True):
    """Every unmasked read of PII: who, when, which person(s), why. A batched read is one row: no
    `person_id`, the persons read in `person_ids` and their number in `person_count`."""

    __tablename__ = "pii_audit"
    __table_args__ = (Index("ix_pii_audit_person_ids", "person_ids", postgresql_using="gin"),)
    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    at: datetime = Field(sa_column=_now_column())
    actor: str = Field(index=True)
    person_id: uuid.UUID | None = Field(default=None, index=True)
    person_ids: list[uuid.UUID] | None = Field(default=None, sa_column=Column(ARRAY(Uuid), nullable=True))
    person_count: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    purpose: str
    fields: str = Field(max_length=256)


class ImportJobRecord(SQLModel, table=True):
    __tablename__ = "imports"
    id: uuid.UUID = Field(primary_key=True)
    file_name: str = Field(max_length=255)
    file_sha256: str = Field(max_length=64, index=True)
    file_format: str = Field(max_length=8)
    status: str = Field(default="queued", max_length=16)
    total: int = 0
    done: int = 0
    failed: int = 0
    region: str = Field(max_length=12)
    created_by: str
    created_at: datetime = Field(sa_column=_now_column())
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class ImportErrorRecord(SQLModel, table=True):
    __tablename__ = "import_errors"
    __table_args__ = (UniqueConstraint("import_id", "row_number", "column"),)
    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    import_id: uuid.UUID = Field(foreign_key="imports.id", index=True)
    row_number: int
    column: str = Field(max_length=64)
    message: str
    message_zh: str


class PartnerRecord(SQLModel, table=True):
    """A partner agency allowed to post events, with its Standard Webhooks secret (encrypted)."""

    __tablename__ = "partners"
    agency: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=128)
    region: str = Field(max_length=12)
    secret_cipher: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    secret_key_id: str = Field(max_length=32)
    active: bool = True
    created_at: datetime = Field(sa_column=_now_column())


class PartnerDeliveryRecord(SQLModel, table=True):
    """One row per accepted webhook-id: replays are answered from here, never processed twice."""

    __tablename__ = "partner_deliveries"
    webhook_id: str = Field(primary_key=True, max_length=128)
    agency: str = Field(max_length=64, index=True)
    event_type: str = Field(max_length=128)
    outcome: str = Field(max_length=32)
    review_item_id: uuid.UUID | None = None
    received_at: datetime = Field(sa_column=_now_column())


class ReviewItemRecord(SQLModel, table=True):
    """A partner report that matched nobody (or needs a person's judgement), parked for caseworkers."""

    __tablename__ = "review_items"
    id: uuid.UUID = Field(primary_key=True)
    agency: str = Field(max_length=64, index=True)
    event_type: str = Field(max_length=128)
    region_hint: str = Field(default="", max_length=12, index=True)
    id_number_index: str | None = Field(default=None, max_length=64, index=True)
    payload_cipher: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    payload_key_id: str = Field(max_length=32)
    reason: str
    status: str = Field(default="open", max_length=16, index=True)
    resolved_by: str | None = None
    resolution: str | None = None
    created_at: datetime = Field(sa_column=_now_column())
    resolved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class VillageAssignmentRecord(SQLModel, table=True):
    """包村包户: a caseworker is responsible for a village."""

    __tablename__ = "village_assignments"
    caseworker: str = Field(primary_key=True)
    village_code: str = Field(primary_key=True, max_length=12, index=True)
    assigned_by: str
    assigned_at: datetime = Field(sa_column=_now_column())


class VisitRecord(SQLModel, table=True):
    __tablename__ = "visits"
    id: uuid.UUID = Field(primary_key=True)
    household_id: uuid.UUID = Field(foreign_key="households.id", index=True)
    caseworker: str = Field(index=True)
    visited_on: date = Field(index=True)
    kind: str = Field(max_length=32)
    notes: str = ""
    created_at: datetime = Field(sa_column=_now_column())
