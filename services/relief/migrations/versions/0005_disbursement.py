"""scheduled disbursement: batches from approved cycles, payments, reconciliation runs

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE batches (
        id uuid PRIMARY KEY,
        cycle_id uuid NOT NULL UNIQUE,
        policy_code varchar(64) NOT NULL,
        policy_version integer NOT NULL,
        period varchar(7) NOT NULL,
        fund_code varchar(48) NOT NULL,
        benefit_kind varchar(32) NOT NULL,
        chunks integer NOT NULL CHECK (chunks > 0),
        chunks_received integer[] NOT NULL DEFAULT '{}',
        total_lines integer NOT NULL,
        total_amount_fen bigint NOT NULL,
        status varchar(16) NOT NULL
            CHECK (status IN ('collecting', 'refused', 'reserved', 'sending', 'done')),
        refusal_en text,
        refusal_zh text,
        created_by varchar(128) NOT NULL,
        approved_by varchar(128),
        approved_at timestamptz,
        payment_date date,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )""")
    op.execute("CREATE INDEX ix_batches_status ON batches (status)")
    op.execute("""
    CREATE TABLE payments (
        id uuid PRIMARY KEY,
        batch_id uuid NOT NULL REFERENCES batches (id),
        line_id uuid NOT NULL UNIQUE,
        policy_code varchar(64) NOT NULL,
        period varchar(7) NOT NULL,
        subject_kind varchar(16) NOT NULL,
        subject_id uuid NOT NULL,
        payee_person_id uuid NOT NULL,
        household_id uuid NOT NULL,
        region_code varchar(12) NOT NULL,
        amount_fen bigint NOT NULL CHECK (amount_fen > 0),
        end_to_end_id varchar(35) NOT NULL UNIQUE,
        status varchar(16) NOT NULL
            CHECK (status IN ('new', 'reserved', 'sending', 'succeeded', 'failed', 'returned', 'held')),
        payee_name_masked text,
        provider_ref varchar(64),
        reason text,
        attempts integer NOT NULL DEFAULT 0,
        submitted_at timestamptz,
        settled_at timestamptz
    )""")
    # never two live or successful payments for one (beneficiary, policy, period); failed and held ones
    # hold no money and do not count
    op.execute(
        "CREATE UNIQUE INDEX ux_payments_once ON payments (subject_id, policy_code, period) "
        "WHERE status NOT IN ('failed', 'held')"
    )
    op.execute("CREATE INDEX ix_payments_batch_status ON payments (batch_id, status)")
    op.execute("""
    CREATE TABLE reconciliations (
        id uuid PRIMARY KEY,
        day date NOT NULL,
        source varchar(32) NOT NULL,
        matched integer NOT NULL,
        missing integer NOT NULL,
        extra integer NOT NULL,
        different integer NOT NULL,
        items jsonb NOT NULL,
        run_by varchar(128) NOT NULL,
        run_at timestamptz NOT NULL DEFAULT now()
    )""")


def downgrade() -> None:
    op.execute("DROP TABLE reconciliations")
    op.execute("DROP TABLE payments")
    op.execute("DROP TABLE batches")
