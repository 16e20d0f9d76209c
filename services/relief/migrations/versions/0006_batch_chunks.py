"""batch_chunks: a collecting batch's cycle lines, kept until the batch is complete

A cycle's lines used to become `new` payments chunk by chunk and then, once the batch was complete, all
be updated to `reserved`: every payment row written twice, five indexes each time. The chunks now wait
here as received (one row per chunk, one array per field) and each payment is written once, in its
final state, when the batch is reserved (`relief.service.batches.reserve_batch`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE batch_chunks (
        batch_id uuid NOT NULL REFERENCES batches (id),
        chunk integer NOT NULL,
        line_ids uuid[] NOT NULL,
        subject_kinds varchar[] NOT NULL,
        subject_ids uuid[] NOT NULL,
        payee_person_ids uuid[] NOT NULL,
        household_ids uuid[] NOT NULL,
        region_codes varchar[] NOT NULL,
        amounts_fen bigint[] NOT NULL,
        PRIMARY KEY (batch_id, chunk)
    )""")


def downgrade() -> None:
    # lines still waiting become the `new` payments the old code kept for a collecting batch
    op.execute("""
    INSERT INTO payments (id, batch_id, line_id, policy_code, period, subject_kind, subject_id, payee_person_id,
                          household_id, region_code, amount_fen, end_to_end_id, status)
    SELECT l.pid, b.id, l.line_id, b.policy_code, b.period, l.kind, l.subject, l.payee, l.household, l.region,
           l.amount, 'GH' || upper(replace(l.pid::text, '-', '')), 'new'
    FROM batches b, LATERAL (
        SELECT gen_random_uuid() AS pid, u.*
        FROM batch_chunks c, unnest(c.line_ids, c.subject_kinds, c.subject_ids, c.payee_person_ids, c.household_ids,
                                    c.region_codes, c.amounts_fen) AS u(line_id, kind, subject, payee, household,
                                                                        region, amount)
        WHERE c.batch_id = b.id
    ) l
    ON CONFLICT DO NOTHING""")
    op.execute("DROP TABLE batch_chunks")
