"""Who did it (a token's `sub`) is stored as text: a subject longer than 128 characters was a 500

OpenID Connect allows subjects of up to 255 ASCII characters, and the identity provider chooses them.
varchar → text needs no table rewrite in PostgreSQL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUBJECT_COLUMNS = (("life_events", "recorded_by"), ("pii_audit", "actor"), ("imports", "created_by"),
                   ("village_assignments", "caseworker"), ("village_assignments", "assigned_by"),
                   ("visits", "caseworker"))


def upgrade() -> None:
    for table, column in SUBJECT_COLUMNS:
        op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(length=128), existing_nullable=False)


def downgrade() -> None:
    for table, column in SUBJECT_COLUMNS:
        op.alter_column(table, column, type_=sa.String(length=128), existing_type=sa.Text(), existing_nullable=False)
