"""ledger: accounts with balances, append-only transfers (two-phase)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE ledger_accounts (
        code varchar(64) PRIMARY KEY,
        kind varchar(16) NOT NULL CHECK (kind IN ('fund', 'income', 'expense', 'liability', 'clearing')),
        name_zh text NOT NULL,
        name_en text NOT NULL,
        debits_must_not_exceed_credits boolean NOT NULL DEFAULT false,
        debits_pending bigint NOT NULL DEFAULT 0,
        debits_posted bigint NOT NULL DEFAULT 0,
        credits_pending bigint NOT NULL DEFAULT 0,
        credits_posted bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ledger_balances_not_negative CHECK (
            debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 AND credits_posted >= 0),
        -- the last line of defence against overdrawing a fund, whatever the code above it does
        CONSTRAINT ledger_fund_not_overdrawn CHECK (
            NOT debits_must_not_exceed_credits OR debits_pending + debits_posted <= credits_posted)
    )""")
    op.execute("""
    CREATE TABLE ledger_transfers (
        id uuid PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        debit_account varchar(64) NOT NULL REFERENCES ledger_accounts (code),
        credit_account varchar(64) NOT NULL REFERENCES ledger_accounts (code),
        amount bigint NOT NULL CHECK (amount > 0),
        kind varchar(16) NOT NULL CHECK (kind IN ('posted', 'pending', 'post_pending', 'void_pending')),
        pending_id uuid REFERENCES ledger_transfers (id),
        code varchar(32) NOT NULL,
        reference varchar(128),
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (debit_account <> credit_account),
        CHECK ((kind IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL))
    )""")
    # one post or void per pending transfer, ever: concurrent settlements of one payment cannot both win
    op.execute(
        "CREATE UNIQUE INDEX ux_ledger_transfers_pending_id ON ledger_transfers (pending_id) "
        "WHERE pending_id IS NOT NULL"
    )
    op.execute("CREATE INDEX ix_ledger_transfers_debit ON ledger_transfers (debit_account, seq)")
    op.execute("CREATE INDEX ix_ledger_transfers_credit ON ledger_transfers (credit_account, seq)")
    op.execute("CREATE INDEX ix_ledger_transfers_reference ON ledger_transfers (reference)")
    op.execute("""
    CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'ledger transfers are append-only (% refused)', TG_OP USING ERRCODE = 'raise_exception';
    END $$""")
    op.execute(
        "CREATE TRIGGER ledger_transfers_append_only BEFORE UPDATE OR DELETE ON ledger_transfers "
        "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
    )
    op.execute(
        "CREATE TRIGGER ledger_transfers_no_truncate BEFORE TRUNCATE ON ledger_transfers "
        "FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TABLE ledger_transfers")
    op.execute("DROP TABLE ledger_accounts")
    op.execute("DROP FUNCTION ledger_append_only()")
