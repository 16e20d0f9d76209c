"""funds, budget allocations, donations with receipt numbers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE funds (
        code varchar(48) PRIMARY KEY,
        kind varchar(16) NOT NULL CHECK (kind IN ('care_fund', 'public_welfare', 'budget_line')),
        name_zh text NOT NULL,
        name_en text NOT NULL,
        region varchar(12) NOT NULL,
        account_code varchar(64) NOT NULL UNIQUE REFERENCES ledger_accounts (code),
        created_by varchar(128) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )""")
    op.execute("""
    CREATE TABLE allocations (
        id uuid PRIMARY KEY,
        fund_code varchar(48) NOT NULL REFERENCES funds (code),
        amount_fen bigint NOT NULL CHECK (amount_fen > 0),
        document_no varchar(64) NOT NULL,
        allocated_on date NOT NULL,
        transfer_id uuid NOT NULL UNIQUE REFERENCES ledger_transfers (id),
        recorded_by varchar(128) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )""")
    op.execute("CREATE SEQUENCE donation_receipt_seq")
    op.execute("""
    CREATE TABLE donations (
        id uuid PRIMARY KEY,
        receipt_no varchar(32) NOT NULL UNIQUE,
        fund_code varchar(48) NOT NULL REFERENCES funds (code),
        donor_kind varchar(16) NOT NULL CHECK (donor_kind IN ('organisation', 'person')),
        donor_name text NOT NULL,
        uscc varchar(18),
        amount_fen bigint NOT NULL CHECK (amount_fen > 0),
        received_on date NOT NULL,
        memo text,
        transfer_id uuid NOT NULL UNIQUE REFERENCES ledger_transfers (id),
        recorded_by varchar(128) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((donor_kind = 'organisation') = (uscc IS NOT NULL))
    )""")
    op.execute("CREATE INDEX ix_donations_fund ON donations (fund_code, received_on)")


def downgrade() -> None:
    op.execute("DROP TABLE donations")
    op.execute("DROP SEQUENCE donation_receipt_seq")
    op.execute("DROP TABLE allocations")
    op.execute("DROP TABLE funds")
