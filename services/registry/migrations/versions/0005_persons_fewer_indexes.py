"""persons: drop two indexes that no query needs, so each imported person costs two index entries less

* `ix_persons_name` (name): equality on the name is served by `ix_persons_duplicate_probe` (name,
  birth_date), whose leading column it is; a prefix search (`LIKE 'x%'`) can use neither under the
  database's collation unless it is C, and then the composite index serves it as well.
* `ix_persons_name_pinyin` (name_pinyin): `ix_persons_pinyin_prefix` (text_pattern_ops) answers
  equality and prefixes of the same column; nothing orders by it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_persons_name", table_name="persons")
    op.drop_index("ix_persons_name_pinyin", table_name="persons")


def downgrade() -> None:
    op.create_index("ix_persons_name_pinyin", "persons", ["name_pinyin"], unique=False)
    op.create_index("ix_persons_name", "persons", ["name"], unique=False)
