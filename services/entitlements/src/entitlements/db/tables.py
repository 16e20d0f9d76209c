"""The entitlements's tables. Alembic migrations are written against this metadata.

`person_facts` is the facts projection: one row per person known from the registry's events, with
their household's facts copied onto the row (so that a whole population is evaluated by one scan, see
`entitlements.domain.sql_compiler`). Columns mirror `entitlements.domain.facts_catalogue.FactsRow`:
what does not depend on the evaluation date is stored typed; ages, "alive" and month counts are
computed for the evaluation date from the stored birth and death dates (and their generated
`*_ymd` integer twins, year·10000 + month·100 + day, which make an age one integer subtraction and
division). `household_facts_as_of` stays
NULL until the registry has announced the household's facts; such rows belong to no population.
"""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata


def _now_column() -> Any:
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


def _flag() -> Any:
    return Field(default=False, sa_column_kwargs={"server_default": text("false")})


def _count() -> Any:
    return Field(default=0, sa_column_kwargs={"server_default": text("0")})


def ymd_sql(column: str) -> str:
    """year·10000 + month·100 + day of a date column: ages become integer arithmetic."""
    return (f"((EXTRACT(year FROM {column}) * 10000 + EXTRACT(month FROM {column}) * 100) "
            f"+ EXTRACT(day FROM {column}))::integer")


def _ymd(column: str) -> Any:
    """A stored generated column holding `ymd_sql(column)` (NULL when the date is)."""
    return Field(default=None, sa_column=Column(Integer, Computed(ymd_sql(column), persisted=True), nullable=True))


class PersonFactsRecord(SQLModel, table=True):
    __tablename__ = "person_facts"
    __table_args__ = (
        Index("ix_person_facts_division_prefix", "division_code",
              postgresql_ops={"division_code": "varchar_pattern_ops"}),
        Index("ix_person_facts_residence_prefix", "residence_division_code",
              postgresql_ops={"residence_division_code": "varchar_pattern_ops"}),
    )

    # the person (registry.person.* events)
    person_id: uuid.UUID = Field(primary_key=True)
    household_id: uuid.UUID = Field(index=True)
    division_code: str = Field(max_length=12)
    residence_division_code: str | None = Field(default=None, max_length=12)
    id_number_index: str | None = Field(default=None, max_length=64, unique=True, index=True)
    sex: str = Field(max_length=6)
    birth_date: date
    death_date: date | None = Field(default=None)
    relation: str = Field(max_length=16)
    mother_id: uuid.UUID | None = Field(default=None)
    father_id: uuid.UUID | None = Field(default=None)
    is_parent: bool = _flag()
    is_child: bool = _flag()
    disability_grade: int | None = Field(default=None)
    # the household (registry.household.facts_changed and the parents' person events)
    household_facts_as_of: date | None = Field(default=None)
    hukou_type: str = Field(default="", max_length=8, sa_column_kwargs={"server_default": text("''")})
    migrant: bool = _flag()
    only_child: bool = _flag()
    single_daughter: bool = _flag()
    two_daughters: bool = _flag()
    bereaved: bool = _flag()
    disabled_only_child: bool = _flag()
    low_income: bool = _flag()
    low_income_kinds: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(16)), nullable=False, server_default=text("'{}'::varchar[]")))
    certificate_held: bool = _flag()
    children_ever: int = _count()
    living_children: int = _count()
    living_sons: int = _count()
    living_daughters: int = _count()
    youngest_child_birth_date: date | None = Field(default=None)
    mother_birth_date: date | None = Field(default=None)
    mother_death_date: date | None = Field(default=None)
    father_birth_date: date | None = Field(default=None)
    father_death_date: date | None = Field(default=None)
    updated_at: datetime = Field(sa_column=_now_column())
    # the time of the newest registry person event applied to this row (older ones are ignored)
    person_event_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    # set when the registry merged this record into another (a duplicate): it then belongs to no population
    merged_into: uuid.UUID | None = Field(default=None)
    # generated: the dates above as yyyymmdd integers, for fast age arithmetic in batch queries
    birth_ymd: int | None = _ymd("birth_date")
    youngest_child_birth_ymd: int | None = _ymd("youngest_child_birth_date")
    mother_birth_ymd: int | None = _ymd("mother_birth_date")
    father_birth_ymd: int | None = _ymd("father_birth_date")


class HouseholdProjectionRecord(SQLModel, table=True):
    """What the registry last said of a household: its places and hukou type (household events) and its
    facts (`registry.household.facts_changed`), each with the registry time of the event it came from, so
    that an older event delivered late never overwrites a newer one. `last_effective_date` is the effective
    date of the household's latest life event, the date a decision that follows it takes effect."""

    __tablename__ = "household_projection"

    household_id: uuid.UUID = Field(primary_key=True)
    division_code: str | None = Field(default=None, max_length=12)
    residence_division_code: str | None = Field(default=None, max_length=12)
    hukou_type: str | None = Field(default=None, max_length=8)
    household_event_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    facts: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    facts_event_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_effective_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    updated_at: datetime = Field(sa_column=_now_column())


class DecisionRecord(SQLModel, table=True):
    """The current decision per (policy, subject), kept so that a decision event is published only when
    it changes (granted, changed, revoked)."""

    __tablename__ = "decisions"

    policy_code: str = Field(primary_key=True, max_length=64)
    subject_id: uuid.UUID = Field(primary_key=True)
    subject: str = Field(max_length=16)  # person or household
    household_id: uuid.UUID = Field(index=True)
    policy_version: int
    eligible: bool
    amount: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    unit: str = Field(max_length=8)
    effective_date: date
    reason: str = Field(max_length=120)
    decided_at: datetime = Field(sa_column=_now_column())


class PolicyVersionRecord(SQLModel, table=True):
    """One version of a policy, as drafted (`body`: the `policy_to_dict` shape). Active and retired versions
    are immutable. `status_seq` is taken from a sequence at every status change: the highest one is the
    generation the in-memory cache of active policies compares against."""

    __tablename__ = "policy_versions"

    code: str = Field(primary_key=True, max_length=64)
    version: int = Field(primary_key=True)
    jurisdiction: str = Field(max_length=12)
    status: str = Field(max_length=8, index=True)
    effective_from: date
    effective_to: date | None = Field(default=None)
    body: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    batch_problem: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    drafted_by: str = Field(max_length=128)
    approved_by: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(sa_column=_now_column())
    activated_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    status_seq: int = Field(sa_column=Column(BigInteger, nullable=False,
                                             server_default=text("nextval('policy_status_seq')")))


class CycleRecord(SQLModel, table=True):
    """A benefit cycle: one policy version evaluated for one period as of the period's first day."""

    __tablename__ = "cycles"

    id: uuid.UUID = Field(primary_key=True)
    policy_code: str = Field(max_length=64, index=True)
    policy_version: int
    period: str = Field(max_length=7)
    region: str = Field(max_length=12)  # the division prefix it covers (the creator's region)
    as_of: date
    status: str = Field(max_length=12)  # evaluating, ready, approved
    fund: str | None = Field(default=None, max_length=32)
    benefit_kind: str = Field(max_length=24)
    unit: str = Field(max_length=8)
    total_lines: int = _count()
    total_amount: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0")))
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_column=_now_column())
    approved_by: str | None = Field(default=None, max_length=128)
    approved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    chunks: int | None = Field(default=None)


class CycleWorkItemRecord(SQLModel, table=True):
    """One county of a cycle (or the cycle's region when finer): the unit the evaluation fans out by."""

    __tablename__ = "cycle_work_items"

    cycle_id: uuid.UUID = Field(primary_key=True)
    area_code: str = Field(primary_key=True, max_length=12)
    status: str = Field(max_length=8)  # pending, done
    lines: int = _count()
    done_by: str | None = Field(default=None, max_length=64)
    done_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class CycleLineRecord(SQLModel, table=True):
    """A frozen beneficiary line. One per (policy, period, subject), ever."""

    __tablename__ = "cycle_lines"
    __table_args__ = (UniqueConstraint("policy_code", "period", "subject_id", name="uq_cycle_lines_subject"),
                      Index("ix_cycle_lines_cycle", "cycle_id", "line_id"))

    line_id: uuid.UUID = Field(primary_key=True)
    cycle_id: uuid.UUID
    policy_code: str = Field(max_length=64)
    period: str = Field(max_length=7)
    subject_kind: str = Field(max_length=16)
    subject_id: uuid.UUID
    payee_person_id: uuid.UUID | None = Field(default=None)
    household_id: uuid.UUID
    region_code: str = Field(max_length=12)
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))


class AppealRecord(SQLModel, table=True):
    __tablename__ = "appeals"

    id: uuid.UUID = Field(primary_key=True)
    person_id: uuid.UUID = Field(index=True)
    policy_code: str = Field(max_length=64)
    reason: str = Field(max_length=2000)
    status: str = Field(max_length=10)  # open, granted, refused
    filed_by: str = Field(max_length=128)
    filed_at: datetime = Field(sa_column=_now_column())
    decided_by: str | None = Field(default=None, max_length=128)
    decided_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class OverrideRecord(SQLModel, table=True):
    """A manual override of one subject's decision for one policy, until its expiry (inclusive)."""

    __tablename__ = "overrides"
    __table_args__ = (Index("ix_overrides_subject", "policy_code", "subject_id"),)

    id: uuid.UUID = Field(primary_key=True)
    appeal_id: uuid.UUID | None = Field(default=None)
    policy_code: str = Field(max_length=64)
    subject_id: uuid.UUID
    household_id: uuid.UUID
    eligible: bool
    amount: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    reason: str = Field(max_length=2000)
    expires_on: date
    decided_by: str = Field(max_length=128)
    decided_at: datetime = Field(sa_column=_now_column())


class AuditRecord(SQLModel, table=True):
    """Who did what to policies, cycles, appeals and overrides (append-only)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_now_column())
    actor: str = Field(max_length=128)
    action: str = Field(max_length=48)
    entity: str = Field(max_length=160)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
