"""The relief's tables. Alembic's env.py imports this metadata.

The relief's migrations (`migrations/versions/0002`–`0006`) are hand-written SQL because they carry
what models do not express well: the append-only triggers on `ledger_transfers`, the CHECK
constraints that keep a fund from being overdrawn, the partial unique indexes (one second phase per
pending transfer; one live or successful payment per beneficiary, policy and period). The service
reads and writes them with SQL (`relief.service.*`); do NOT autogenerate a migration against this
empty metadata — it would propose dropping every table. Write new migrations by hand.
"""

from sqlmodel import SQLModel

metadata = SQLModel.metadata
