"""Alembic environment for the notifications database."""

from carekit.db.migrations import run_env
from notifications.db.tables import metadata

run_env(metadata)
