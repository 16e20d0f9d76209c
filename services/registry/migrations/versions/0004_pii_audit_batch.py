"""pii audit of batched reads: one row per call, with the persons read and their count

`POST /v1/persons/identifiers:batch` (payments, SMS) reads up to 1,000 persons at once and writes one
audit row for the call: `person_id` is null there, `person_ids` holds the persons read and
`person_count` their number. Single reads keep `person_id` and a count of 1. A GIN index answers
"who read this person" across both kinds of row.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("pii_audit", "person_id", existing_type=sa.Uuid(), nullable=True)
    op.add_column("pii_audit", sa.Column("person_ids", postgresql.ARRAY(sa.Uuid()), nullable=True))
    op.add_column("pii_audit", sa.Column("person_count", sa.Integer(), server_default="1", nullable=False))
    op.create_index("ix_pii_audit_person_ids", "pii_audit", ["person_ids"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_pii_audit_person_ids", table_name="pii_audit")
    op.drop_column("pii_audit", "person_count")
    op.drop_column("pii_audit", "person_ids")
    # pii_audit is append-only, so batch rows (person_id null) cannot be removed: downgrade refuses then.
    op.alter_column("pii_audit", "person_id", existing_type=sa.Uuid(), nullable=False)
