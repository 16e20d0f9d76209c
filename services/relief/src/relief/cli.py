"""`python -m relief.cli check-ledger`: the auditors' invariant check from a shell (exit 1 if it fails)."""

import asyncio
import json
from dataclasses import asdict
from typing import Annotated

import typer

from carekit.db.engine import Database
from relief.service.invariant import InvariantReport, check_ledger
from relief.settings import ReliefSettings

app = typer.Typer(help="Relief service commands", no_args_is_help=True)


async def _check(url: str) -> InvariantReport:
    db = Database(url, pool_size=1)
    try:
        async with db.sessionmaker() as session:
            return await check_ledger(session)
    finally:
        await db.dispose()


@app.command("check-ledger")
def check_ledger_command(
    database_url: Annotated[str | None, typer.Option(help="Default: RELIEF_DATABASE_URL")] = None,
) -> None:
    """Prove debits = credits and that every balance equals the replay of its transfers."""
    url = database_url or ReliefSettings().database_url
    report = asyncio.run(_check(url))
    typer.echo(json.dumps(asdict(report), ensure_ascii=False, indent=2))
    raise typer.Exit(0 if report.ok else 1)


@app.callback()
def main() -> None:
    """Relief service commands."""


if __name__ == "__main__":
    app()
