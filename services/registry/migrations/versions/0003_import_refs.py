"""import refs: households.external_ref (户编号 of an imported file), unique within its division

Re-importing a file finds its households again by (division_code, external_ref); persons are found by
the blind index of their ID number. Households registered through the API have no external_ref.

Also a partial index for the household read path: adoptive parent links are looked up by
`payload->>'parent_id'` among `adopted` life events, which without it scans every life event.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 07:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("households", sa.Column("external_ref", sa.String(length=64), nullable=True))
    op.create_index(
        "ux_households_division_external_ref",
        "households",
        ["division_code", "external_ref"],
        unique=True,
        postgresql_where=sa.text("external_ref IS NOT NULL"),
    )
    op.create_index(
        "ix_life_events_adopted_parent",
        "life_events",
        [sa.text("(payload ->> 'parent_id')")],
        postgresql_where=sa.text("kind = 'adopted'"),
    )


def downgrade() -> None:
    op.drop_index("ix_life_events_adopted_parent", table_name="life_events")
    op.drop_index("ux_households_division_external_ref", table_name="households")
    op.drop_column("households", "external_ref")
