"""person_facts: the facts projection, one row per person with their household's facts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Stored typed: everything in the facts catalogue that does not depend on the evaluation date. Ages,
"alive" and month counts are computed at evaluation from birth_date, death_date,
youngest_child_birth_date and the parents' birth and death dates (see entitlements.domain.sql_compiler);
generated `*_ymd` columns hold those birth dates as yyyymmdd integers so an age is integer arithmetic.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _flag(name: str) -> sa.Column:
    return sa.Column(name, sa.Boolean(), server_default=sa.text("false"), nullable=False)


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)


def _ymd(name: str, column: str) -> sa.Column:
    """Generated yyyymmdd integer of a date column (ages in batch queries are integer arithmetic)."""
    expression = (f"((EXTRACT(year FROM {column}) * 10000 + EXTRACT(month FROM {column}) * 100) "
                  f"+ EXTRACT(day FROM {column}))::integer")
    return sa.Column(name, sa.Integer(), sa.Computed(expression, persisted=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        "person_facts",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("residence_division_code", sa.String(length=12), nullable=True),
        sa.Column("id_number_index", sa.String(length=64), nullable=True),
        sa.Column("sex", sa.String(length=6), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("mother_id", sa.Uuid(), nullable=True),
        sa.Column("father_id", sa.Uuid(), nullable=True),
        _flag("is_parent"),
        _flag("is_child"),
        sa.Column("disability_grade", sa.Integer(), nullable=True),
        sa.Column("household_facts_as_of", sa.Date(), nullable=True),
        sa.Column("hukou_type", sa.String(length=8), server_default=sa.text("''"), nullable=False),
        _flag("migrant"),
        _flag("only_child"),
        _flag("single_daughter"),
        _flag("two_daughters"),
        _flag("bereaved"),
        _flag("disabled_only_child"),
        _flag("low_income"),
        sa.Column("low_income_kinds", postgresql.ARRAY(sa.String(length=16)),
                  server_default=sa.text("'{}'::varchar[]"), nullable=False),
        _flag("certificate_held"),
        _count("children_ever"),
        _count("living_children"),
        _count("living_sons"),
        _count("living_daughters"),
        sa.Column("youngest_child_birth_date", sa.Date(), nullable=True),
        sa.Column("mother_birth_date", sa.Date(), nullable=True),
        sa.Column("mother_death_date", sa.Date(), nullable=True),
        sa.Column("father_birth_date", sa.Date(), nullable=True),
        sa.Column("father_death_date", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _ymd("birth_ymd", "birth_date"),
        _ymd("youngest_child_birth_ymd", "youngest_child_birth_date"),
        _ymd("mother_birth_ymd", "mother_birth_date"),
        _ymd("father_birth_ymd", "father_birth_date"),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_index(op.f("ix_person_facts_household_id"), "person_facts", ["household_id"], unique=False)
    op.create_index(op.f("ix_person_facts_id_number_index"), "person_facts", ["id_number_index"], unique=True)
    op.create_index("ix_person_facts_division_prefix", "person_facts", ["division_code"], unique=False,
                    postgresql_ops={"division_code": "varchar_pattern_ops"})
    op.create_index("ix_person_facts_residence_prefix", "person_facts", ["residence_division_code"], unique=False,
                    postgresql_ops={"residence_division_code": "varchar_pattern_ops"})


def downgrade() -> None:
    op.drop_index("ix_person_facts_residence_prefix", table_name="person_facts")
    op.drop_index("ix_person_facts_division_prefix", table_name="person_facts")
    op.drop_index(op.f("ix_person_facts_id_number_index"), table_name="person_facts")
    op.drop_index(op.f("ix_person_facts_household_id"), table_name="person_facts")
    op.drop_table("person_facts")
