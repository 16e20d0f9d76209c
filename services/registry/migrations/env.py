"""Alembic environment for the registry database."""

from carekit.db.migrations import run_env
from registry.db.tables import metadata

run_env(metadata)
