"""Alembic helpers: the async `env.py` body every service shares, and programmatic upgrades."""

import asyncio
import threading
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config

from carekit.db.engine import sqlalchemy_url


def alembic_config(service_root: Path, url: str | None = None) -> Config:
    """Alembic config for a service folder (the one holding `alembic.ini` and `migrations/`)."""
    cfg = Config(str(service_root / "alembic.ini"))
    cfg.set_main_option("script_location", str(service_root / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def head_revision(service_root: Path) -> str | None:
    return ScriptDirectory.from_config(alembic_config(service_root)).get_current_head()


def upgrade_to_head(service_root: Path, url: str) -> None:
    """Run `alembic upgrade head`; safe to call from inside a running event loop."""
    cfg = alembic_config(service_root, url)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            command.upgrade(cfg, "head")
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    worker = threading.Thread(target=run, name="alembic-upgrade")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]


def run_env(target_metadata: MetaData | None) -> None:
    """The body of a service's `migrations/env.py` (online, async)."""
    config = context.config

    def include_object(obj, name, type_, reflected, compare_to) -> bool:  # noqa: ANN001
        # The kit's own tables (outbox, inbox, …) are not in a service's metadata: never drop them.
        return not (type_ == "table" and reflected and compare_to is None)

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True,
                          include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = async_engine_from_config(
            config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
        )
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(run_async())
