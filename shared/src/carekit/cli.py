"""`guanhuai`: the platform's developer command line (run, token, openapi, migrate)."""

import importlib
import json
import os
from pathlib import Path
from typing import Annotated

import typer

from carekit.devstack.catalogue import SERVICES, settings_class

app = typer.Typer(help="Guanhuai (关怀) developer commands", no_args_is_help=True)


@app.command()
def run(
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for all /readyz")] = 60.0,
    exit_when_ready: Annotated[bool, typer.Option(help="Stop again once everything is ready (smoke test)")] = False,
) -> None:
    """Start PostgreSQL, NATS, migrations and the four services; Ctrl-C stops everything."""
    from carekit.devstack.stack import run_stack

    run_stack(ready_timeout=ready_timeout, exit_when_ready=exit_when_ready)


@app.command()
def token(
    role: Annotated[list[str], typer.Option("--role", "-r", help="Role(s): caseworker, admin, approver, …")],
    region: Annotated[str | None, typer.Option(help="Jurisdiction prefix of a division code, e.g. 360702")] = None,
    sub: Annotated[str, typer.Option(help="Subject (user id)")] = "dev-user",
    agency: Annotated[str | None, typer.Option(help="Agency, for partner tokens")] = None,
    audience: Annotated[str, typer.Option(help="Audience")] = "guanhuai",
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds")] = 8 * 3600,
    scope: Annotated[list[str], typer.Option("--scope", help="Permissions, e.g. pii:read")] = [],  # noqa: B006
) -> None:
    """Mint a development token signed with the dev key in .data/keys."""
    from carekit.testing.tokens import TokenFactory

    roles = [r for value in role for r in value.split(",") if r]
    typer.echo(TokenFactory(audience=audience).mint(
        roles=roles, region=region or None, sub=sub, agency=agency, ttl_seconds=ttl, scopes=scope or None))


def _settings_for(name: str):  # noqa: ANN202
    return settings_class(name)(database_url=os.environ.get(f"{name.upper()}_DATABASE_URL", "postgresql+asyncpg://unused@127.0.0.1:1/x"))


@app.command()
def openapi(check: Annotated[bool, typer.Option(help="Fail if a snapshot is out of date")] = False) -> None:
    """Write (or check) each service's committed openapi.json snapshot."""
    from carekit.testing.openapi import render

    stale = []
    for spec in SERVICES:
        main = importlib.import_module(f"{spec.name}.main")
        path = Path(main.SERVICE_ROOT) / "openapi.json"
        text = render(main.create_app(_settings_for(spec.name)))
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.write_text(text)
            typer.echo(f"wrote {path} ({len(json.loads(text)['paths'])} paths)")
    if stale:
        typer.echo(f"out of date: {stale}; run `make openapi`", err=True)
        raise typer.Exit(1)


@app.command()
def migrate(service: Annotated[str | None, typer.Argument(help="One service, or all")] = None) -> None:
    """Upgrade service databases to head using <SVC>_DATABASE_URL."""
    from carekit.db.migrations import upgrade_to_head

    for spec in SERVICES:
        if service and spec.name != service:
            continue
        url = os.environ[f"{spec.env_prefix}DATABASE_URL"]
        upgrade_to_head(importlib.import_module(f"{spec.name}.main").SERVICE_ROOT, url)
        typer.echo(f"{spec.name}: at head")


if __name__ == "__main__":
    app()
