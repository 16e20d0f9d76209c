"""The entitlements's tables. Alembic migrations are written against this metadata."""

from sqlmodel import SQLModel

metadata = SQLModel.metadata
