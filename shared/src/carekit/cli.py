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


STAFF_ROLES = ("caseworker", "admin", "approver", "fund_manager", "auditor")


@app.command()
def token(
    role: Annotated[list[str], typer.Option("--role", "-r", help="Role(s), comma-separated or repeated: "
                                            "caseworker, admin, approver, fund_manager, auditor, citizen, "
                                            "partner, ops, service")],
    region: Annotated[str | None, typer.Option(help="Jurisdiction: a 2/4/6/9/12-digit division code prefix, "
                                               "e.g. 360702; a partner's remit: 2, 4 or 6 digits")] = None,
    sub: Annotated[str, typer.Option(help="Subject: the user id; a citizen's is their person id")] = "dev-user",
    agency: Annotated[str | None, typer.Option(help="Agency, required for partner tokens")] = None,
    audience: Annotated[str, typer.Option(help="Audience")] = "guanhuai",
    ttl: Annotated[int, typer.Option(min=1, help="Lifetime in seconds")] = 8 * 3600,
    scope: Annotated[list[str], typer.Option("--scope", help="Permissions, e.g. pii:read")] = [],  # noqa: B006
) -> None:
    """Mint a development token signed with the dev key in .data/keys; refuses claims the services refuse."""
    from carekit.auth.claims import InvalidClaims, check_claims
    from carekit.testing.tokens import TokenFactory

    roles = _words(role)
    scopes = _words(scope)
    region, agency = region or None, agency or None
    try:
        check_claims(sub=sub, roles=roles, region=region, agency=agency, scopes=scopes)
    except InvalidClaims as exc:
        typer.echo(f"error: {exc.detail}\n错误：{exc.detail_zh}\n"
                   "(--role/--region/--agency/--sub/--scope; make token: ROLE= REGION= AGENCY= SUB= SCOPE=)", err=True)
        raise typer.Exit(2) from exc
    if region is None and any(r in STAFF_ROLES for r in roles):
        typer.echo("note: without --region (REGION=) this token reaches no family's records.", err=True)
    typer.echo(TokenFactory(audience=audience).mint(
        roles=roles, region=region, sub=sub, agency=agency, ttl_seconds=ttl, scopes=scopes or None))


def _words(values: list[str]) -> list[str]:
    """`--role a,b --role c` and `--scope "x y"`: the words, separated by commas, spaces or repetition."""
    return [word for value in values for word in value.replace(",", " ").split()]


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
