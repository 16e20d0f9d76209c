"""household_projection, decisions, and person_facts.person_event_at and merged_into

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

The facts projection keeps the registry time of the newest event applied to each person row and to
each household (places, facts), so that late, older events are ignored. `decisions` holds the current
decision per (policy, subject): decision events are published only when it changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("person_facts", sa.Column("person_event_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("person_facts", sa.Column("merged_into", sa.Uuid(), nullable=True))
    op.create_table(
        "household_projection",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=True),
        sa.Column("residence_division_code", sa.String(length=12), nullable=True),
        sa.Column("hukou_type", sa.String(length=8), nullable=True),
        sa.Column("household_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("facts_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_effective_date", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("household_id"),
    )
    op.create_table(
        "decisions",
        sa.Column("policy_code", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=120), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("policy_code", "subject_id"),
    )
    op.create_index(op.f("ix_decisions_household_id"), "decisions", ["household_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_decisions_household_id"), table_name="decisions")
    op.drop_table("decisions")
    op.drop_table("household_projection")
    op.drop_column("person_facts", "merged_into")
    op.drop_column("person_facts", "person_event_at")
