"""messages by recipient and template: decision notices fold into the recipient's open one

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 03:55:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_messages_recipient_template", "messages", ["recipient_key", "template_code"])


def downgrade() -> None:
    op.drop_index("ix_messages_recipient_template", table_name="messages")
