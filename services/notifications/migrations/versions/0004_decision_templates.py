"""decision templates name the benefits from the event (no "标准0.00元", no policy code)

The default bodies of decision_granted / _changed / _revoked seeded before this revision printed
`{amount_yuan}` for every benefit and a name looked up by made-up codes. Where an installation still has
the old default (an admin's edit is left alone), it gets the new default, which prints `{benefits}`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 03:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TO_NEW = {
    "decision_granted": (
        "{name}您好，您家已符合{policy_name}条件，标准{amount_yuan}元，自{effective_date}起享受。咨询请拨{hotline}。",
        "{name}您好，经审核您自{effective_date}起享受：{benefits}。咨询请拨{hotline}。",
    ),
    "decision_changed": (
        "{name}您好，您家{policy_name}待遇已调整为{amount_yuan}元，自{effective_date}起执行。咨询请拨{hotline}。",
        "{name}您好，您的待遇自{effective_date}起调整为：{benefits}。咨询请拨{hotline}。",
    ),
    "decision_revoked": (
        "{name}您好，您家自{effective_date}起不再享受{policy_name}，原因：{reason}。如有异议请拨{hotline}。",
        "{name}您好，您自{effective_date}起不再享受：{benefits}。如有异议请拨{hotline}。",
    ),
}
SWAP = sa.text(
    "UPDATE templates SET body = :new, version = version + 1 WHERE code = :code AND language = 'zh' AND body = :old"
)


def upgrade() -> None:
    for code, (old, new) in OLD_TO_NEW.items():
        op.execute(SWAP.bindparams(code=code, old=old, new=new))


def downgrade() -> None:
    for code, (old, new) in OLD_TO_NEW.items():
        op.execute(SWAP.bindparams(code=code, old=new, new=old))
