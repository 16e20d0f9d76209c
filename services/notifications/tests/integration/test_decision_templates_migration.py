"""Migration 0004: an installation seeded with the old decision templates ("标准{amount_yuan}元") gets the
new defaults, which name the benefits; a template an admin edited is left as it is."""

import asyncio

import asyncpg
from alembic import command

from carekit.db.engine import asyncpg_dsn
from carekit.db.migrations import alembic_config, upgrade_to_head
from notifications.main import SERVICE_ROOT
from notifications.service.templates import DEFAULTS

OLD_GRANTED = (
    "{name}您好，您家已符合{policy_name}条件，标准{amount_yuan}元，自{effective_date}起享受。咨询请拨{hotline}。"
)
EDITED = "{name}您好，您的{policy_name}已批准。详询{hotline}。"
INSERT = (
    "INSERT INTO templates (code, language, body, signature, category, urgent, survey, provider_template_ids,"
    " version) VALUES ($1, 'zh', $2, '【XX县卫健委】', 'statutory', false, false, '{}', 1)"
)


async def test_old_default_decision_templates_are_replaced_and_edited_ones_kept(migrated_database) -> None:  # noqa: ANN001
    url = await migrated_database("notifications")
    await asyncio.to_thread(command.downgrade, alembic_config(SERVICE_ROOT, url), "0003")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(INSERT, "decision_granted", OLD_GRANTED)
        await conn.execute(INSERT, "decision_revoked", EDITED)
        await asyncio.to_thread(upgrade_to_head, SERVICE_ROOT, url)
        bodies = dict(await conn.fetch("SELECT code, body FROM templates ORDER BY code"))
    finally:
        await conn.close()
    [granted] = [d["body"] for d in DEFAULTS if d["code"] == "decision_granted"]
    assert bodies == {"decision_granted": granted, "decision_revoked": EDITED}
    assert "{benefits}" in granted and "amount_yuan" not in granted


async def test_messages_are_indexed_by_recipient_and_template_as_the_metadata_says(migrated_database) -> None:  # noqa: ANN001
    from notifications.db.tables import MessageRecord

    conn = await asyncpg.connect(asyncpg_dsn(await migrated_database("notifications")))
    try:
        found = await conn.fetchval(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_messages_recipient_template'")
    finally:
        await conn.close()
    assert found is not None and found.endswith("(recipient_key, template_code)")
    assert "ix_messages_recipient_template" in {i.name for i in MessageRecord.__table__.indexes}
