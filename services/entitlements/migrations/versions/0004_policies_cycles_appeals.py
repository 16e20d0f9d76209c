"""policy_versions, cycles (work items, frozen lines), appeals, overrides and the audit log

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

Policies are stored here (the YAML library is seeded as active versions at start-up). A cycle freezes
its beneficiary lines; `uq_cycle_lines_subject` keeps one line per (policy, period, subject) ever.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now() -> dict:
    return {"server_default": sa.text("now()"), "nullable": False}


def upgrade() -> None:
    op.execute("CREATE SEQUENCE policy_status_seq")
    op.create_table(
        "policy_versions",
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("jurisdiction", sa.String(12), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("body", postgresql.JSONB(), nullable=False),
        sa.Column("batch_problem", postgresql.JSONB(), nullable=True),
        sa.Column("drafted_by", sa.String(128), nullable=False),
        sa.Column("approved_by", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), **_now()),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_seq", sa.BigInteger(), server_default=sa.text("nextval('policy_status_seq')"),
                  nullable=False),
        sa.PrimaryKeyConstraint("code", "version"),
    )
    op.create_index("ix_policy_versions_status", "policy_versions", ["status"])
    op.create_table(
        "cycles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("policy_code", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("region", sa.String(12), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("fund", sa.String(32), nullable=True),
        sa.Column("benefit_kind", sa.String(24), nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("total_lines", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("total_amount", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), **_now()),
        sa.Column("approved_by", sa.String(128), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("chunks", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cycles_policy_code", "cycles", ["policy_code"])
    op.create_table(
        "cycle_work_items",
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("area_code", sa.String(12), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("lines", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("done_by", sa.String(64), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("cycle_id", "area_code"),
    )
    op.create_table(
        "cycle_lines",
        sa.Column("line_id", sa.Uuid(), nullable=False),
        sa.Column("cycle_id", sa.Uuid(), nullable=False),
        sa.Column("policy_code", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("payee_person_id", sa.Uuid(), nullable=True),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("line_id"),
        sa.UniqueConstraint("policy_code", "period", "subject_id", name="uq_cycle_lines_subject"),
    )
    op.create_index("ix_cycle_lines_cycle", "cycle_lines", ["cycle_id", "line_id"])
    op.create_table(
        "appeals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("policy_code", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("filed_by", sa.String(128), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), **_now()),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_appeals_person_id", "appeals", ["person_id"])
    op.create_table(
        "overrides",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appeal_id", sa.Uuid(), nullable=True),
        sa.Column("policy_code", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("decided_by", sa.String(128), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), **_now()),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_overrides_subject", "overrides", ["policy_code", "subject_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), sa.Identity(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), **_now()),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("entity", sa.String(160), nullable=False),
        sa.Column("detail", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    for table in ("audit_log", "overrides", "appeals", "cycle_lines", "cycle_work_items", "cycles",
                  "policy_versions"):
        op.drop_table(table)
    op.execute("DROP SEQUENCE policy_status_seq")
