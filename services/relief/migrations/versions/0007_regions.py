"""regions on ledger accounts and reconciliation runs: a county's staff see only their own money

A fund's account takes the fund's region (every fund was opened for one). Income and expense accounts
are kept per region from now on (`income:budget:360702`, opened on first use); the shared ones of the
ledger before regions (`income:budget`, `expense:relief`, …) keep no region, as their journals hold
every county's transfers: only services see them. Reconciliation runs are scoped to their runner's
region; runs made before carry none.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE ledger_accounts ADD COLUMN region varchar(12)")
    op.execute("UPDATE ledger_accounts a SET region = f.region FROM funds f WHERE f.account_code = a.code")
    op.execute("ALTER TABLE reconciliations ADD COLUMN region varchar(12)")


def downgrade() -> None:
    op.execute("ALTER TABLE reconciliations DROP COLUMN region")
    op.execute("ALTER TABLE ledger_accounts DROP COLUMN region")
