"""Alembic environment for the relief database."""

from carekit.db.migrations import run_env
from relief.db.tables import metadata

run_env(metadata)
