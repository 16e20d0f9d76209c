"""emergency relief applications, their steps, priority households

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE applications (
        id uuid PRIMARY KEY,
        household_id uuid NOT NULL,
        applicant_person_id uuid NOT NULL,
        region_code varchar(12) NOT NULL,
        reason_code varchar(24) NOT NULL
            CHECK (reason_code IN ('child_died', 'disability', 'accident', 'serious_illness', 'disaster')),
        amount_fen bigint NOT NULL CHECK (amount_fen > 0),
        fund_code varchar(48) NOT NULL REFERENCES funds (code),
        description text NOT NULL DEFAULT '',
        priority boolean NOT NULL DEFAULT false,
        status varchar(16) NOT NULL CHECK (status IN ('submitted', 'reviewed', 'approved', 'paid', 'refused')),
        approvals_needed smallint NOT NULL,
        created_by varchar(128) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        version integer NOT NULL DEFAULT 1,
        transfer_id uuid REFERENCES ledger_transfers (id)
    )""")
    op.execute("CREATE INDEX ix_applications_queue ON applications (status, priority DESC, created_at)")
    op.execute("CREATE INDEX ix_applications_region ON applications (region_code varchar_pattern_ops)")
    op.execute("""
    CREATE TABLE application_steps (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        application_id uuid NOT NULL REFERENCES applications (id),
        step varchar(16) NOT NULL,
        actor varchar(128) NOT NULL,
        comment text,
        at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (application_id, step, actor)
    )""")
    op.execute("CREATE INDEX ix_application_steps_app ON application_steps (application_id, id)")
    op.execute("""
    CREATE TABLE priority_households (
        household_id uuid PRIMARY KEY,
        policy_code varchar(64) NOT NULL,
        priority boolean NOT NULL,
        decided_at timestamptz NOT NULL
    )""")


def downgrade() -> None:
    op.execute("DROP TABLE priority_households")
    op.execute("DROP TABLE application_steps")
    op.execute("DROP TABLE applications")
