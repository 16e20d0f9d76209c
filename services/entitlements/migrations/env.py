"""Alembic environment for the entitlements database."""

from carekit.db.migrations import run_env
from entitlements.db.tables import metadata

run_env(metadata)
