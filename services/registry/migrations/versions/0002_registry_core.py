"""registry core: households, persons, life events, projections, imports, partners, outreach

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 06:42:58.973942
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("hukou_type", sa.String(length=8), nullable=False),
        sa.Column("residence_division_code", sa.String(length=12), nullable=True),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_households_division_code"), "households", ["division_code"], unique=False)
    op.create_index(
        op.f("ix_households_residence_division_code"), "households", ["residence_division_code"], unique=False
    )
    op.create_table(
        "imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("file_format", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=12), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_imports_file_sha256"), "imports", ["file_sha256"], unique=False)
    op.create_table(
        "partner_deliveries",
        sa.Column("webhook_id", sa.String(length=128), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("review_item_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id"),
    )
    op.create_index(op.f("ix_partner_deliveries_agency"), "partner_deliveries", ["agency"], unique=False)
    op.create_table(
        "partners",
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("region", sa.String(length=12), nullable=False),
        sa.Column("secret_cipher", sa.LargeBinary(), nullable=False),
        sa.Column("secret_key_id", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("agency"),
    )
    op.create_table(
        "pii_audit",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("fields", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_pii_audit_actor"), "pii_audit", ["actor"], unique=False)
    op.create_index(op.f("ix_pii_audit_person_id"), "pii_audit", ["person_id"], unique=False)
    op.create_table(
        "review_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("region_hint", sa.String(length=12), nullable=False),
        sa.Column("id_number_index", sa.String(length=64), nullable=True),
        sa.Column("payload_cipher", sa.LargeBinary(), nullable=False),
        sa.Column("payload_key_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_review_items_agency"), "review_items", ["agency"], unique=False)
    op.create_index(
        op.f("ix_review_items_id_number_index"), "review_items", ["id_number_index"], unique=False
    )
    op.create_index(op.f("ix_review_items_region_hint"), "review_items", ["region_hint"], unique=False)
    op.create_index(op.f("ix_review_items_status"), "review_items", ["status"], unique=False)
    op.create_table(
        "village_assignments",
        sa.Column("caseworker", sa.String(length=128), nullable=False),
        sa.Column("village_code", sa.String(length=12), nullable=False),
        sa.Column("assigned_by", sa.String(length=128), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("caseworker", "village_code"),
    )
    op.create_index(
        op.f("ix_village_assignments_village_code"), "village_assignments", ["village_code"], unique=False
    )
    op.create_table(
        "certificates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
    )
    op.create_index(op.f("ix_certificates_household_id"), "certificates", ["household_id"], unique=False)
    op.create_table(
        "household_facts",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
        ),
        sa.PrimaryKeyConstraint("household_id"),
    )
    op.create_index(
        op.f("ix_household_facts_division_code"), "household_facts", ["division_code"], unique=False
    )
    op.create_table(
        "import_errors",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("message_zh", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["imports.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("import_id", "row_number", "column"),
    )
    op.create_index(op.f("ix_import_errors_import_id"), "import_errors", ["import_id"], unique=False)
    op.create_table(
        "persons",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("name_pinyin", sa.String(length=256), nullable=False),
        sa.Column("name_initials", sa.String(length=64), nullable=False),
        sa.Column("sex", sa.String(length=6), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("mother_id", sa.Uuid(), nullable=True),
        sa.Column("father_id", sa.Uuid(), nullable=True),
        sa.Column("id_number_cipher", sa.LargeBinary(), nullable=True),
        sa.Column("id_number_key_id", sa.String(length=32), nullable=True),
        sa.Column("id_number_index", sa.String(length=64), nullable=True),
        sa.Column("phone_cipher", sa.LargeBinary(), nullable=True),
        sa.Column("phone_key_id", sa.String(length=32), nullable=True),
        sa.Column("bank_account_cipher", sa.LargeBinary(), nullable=True),
        sa.Column("bank_account_key_id", sa.String(length=32), nullable=True),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column("merged_into", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["father_id"],
            ["persons.id"],
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
        ),
        sa.ForeignKeyConstraint(
            ["merged_into"],
            ["persons.id"],
        ),
        sa.ForeignKeyConstraint(
            ["mother_id"],
            ["persons.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_number_index"),
    )
    op.create_index(op.f("ix_persons_birth_date"), "persons", ["birth_date"], unique=False)
    op.create_index(op.f("ix_persons_father_id"), "persons", ["father_id"], unique=False)
    op.create_index(op.f("ix_persons_household_id"), "persons", ["household_id"], unique=False)
    op.create_index(op.f("ix_persons_mother_id"), "persons", ["mother_id"], unique=False)
    op.create_index(op.f("ix_persons_name"), "persons", ["name"], unique=False)
    op.create_index(op.f("ix_persons_name_initials"), "persons", ["name_initials"], unique=False)
    op.create_index(op.f("ix_persons_name_pinyin"), "persons", ["name_pinyin"], unique=False)
    op.create_table(
        "visits",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("caseworker", sa.String(length=128), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_visits_caseworker"), "visits", ["caseworker"], unique=False)
    op.create_index(op.f("ix_visits_household_id"), "visits", ["household_id"], unique=False)
    op.create_index(op.f("ix_visits_visited_on"), "visits", ["visited_on"], unique=False)
    op.create_table(
        "life_events",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("supersedes", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
        ),
        sa.ForeignKeyConstraint(
            ["supersedes"],
            ["life_events.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq"),
    )
    op.create_index(op.f("ix_life_events_household_id"), "life_events", ["household_id"], unique=False)
    op.create_index(op.f("ix_life_events_person_id"), "life_events", ["person_id"], unique=False)

    # Life events and the PII audit trail are append-only: corrections are new rows.
    op.execute("""
        CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$;
    """)
    for table in ("life_events", "pii_audit"):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
        )
    op.create_index("ix_persons_duplicate_probe", "persons", ["name", "birth_date"])
    op.create_index(
        "ix_persons_pinyin_prefix",
        "persons",
        ["name_pinyin"],
        postgresql_ops={"name_pinyin": "text_pattern_ops"},
    )


def downgrade() -> None:
    for table in ("life_events", "pii_audit"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS refuse_change()")
    op.drop_index("ix_persons_pinyin_prefix", table_name="persons")
    op.drop_index("ix_persons_duplicate_probe", table_name="persons")
    op.drop_index(op.f("ix_life_events_person_id"), table_name="life_events")
    op.drop_index(op.f("ix_life_events_household_id"), table_name="life_events")
    op.drop_table("life_events")
    op.drop_index(op.f("ix_visits_visited_on"), table_name="visits")
    op.drop_index(op.f("ix_visits_household_id"), table_name="visits")
    op.drop_index(op.f("ix_visits_caseworker"), table_name="visits")
    op.drop_table("visits")
    op.drop_index(op.f("ix_persons_name_pinyin"), table_name="persons")
    op.drop_index(op.f("ix_persons_name_initials"), table_name="persons")
    op.drop_index(op.f("ix_persons_name"), table_name="persons")
    op.drop_index(op.f("ix_persons_mother_id"), table_name="persons")
    op.drop_index(op.f("ix_persons_household_id"), table_name="persons")
    op.drop_index(op.f("ix_persons_father_id"), table_name="persons")
    op.drop_index(op.f("ix_persons_birth_date"), table_name="persons")
    op.drop_table("persons")
    op.drop_index(op.f("ix_import_errors_import_id"), table_name="import_errors")
    op.drop_table("import_errors")
    op.drop_index(op.f("ix_household_facts_division_code"), table_name="household_facts")
    op.drop_table("household_facts")
    op.drop_index(op.f("ix_certificates_household_id"), table_name="certificates")
    op.drop_table("certificates")
    op.drop_index(op.f("ix_village_assignments_village_code"), table_name="village_assignments")
    op.drop_table("village_assignments")
    op.drop_index(op.f("ix_review_items_status"), table_name="review_items")
    op.drop_index(op.f("ix_review_items_region_hint"), table_name="review_items")
    op.drop_index(op.f("ix_review_items_id_number_index"), table_name="review_items")
    op.drop_index(op.f("ix_review_items_agency"), table_name="review_items")
    op.drop_table("review_items")
    op.drop_index(op.f("ix_pii_audit_person_id"), table_name="pii_audit")
    op.drop_index(op.f("ix_pii_audit_actor"), table_name="pii_audit")
    op.drop_table("pii_audit")
    op.drop_table("partners")
    op.drop_index(op.f("ix_partner_deliveries_agency"), table_name="partner_deliveries")
    op.drop_table("partner_deliveries")
    op.drop_index(op.f("ix_imports_file_sha256"), table_name="imports")
    op.drop_table("imports")
    op.drop_index(op.f("ix_households_residence_division_code"), table_name="households")
    op.drop_index(op.f("ix_households_division_code"), table_name="households")
    op.drop_table("households")
