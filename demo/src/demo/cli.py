"""`guanhuai-demo`: synthetic county generator and the demo of a county's year."""

from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from demo.county.divisions import DEFAULT_TABLE, county_townships
from demo.county.families import CountyGenerator
from demo.county.files import write_county

app = typer.Typer(help="Guanhuai demo: synthetic county and the annual cycle end to end.", no_args_is_help=True)
county_app = typer.Typer(help="Synthetic county (合成县): generate and load.", no_args_is_help=True)
app.add_typer(county_app, name="county")
console = Console()


@county_app.command("generate")
def generate(
    out: Path = typer.Option(Path(".data/county"), help="Folder for persons-NNN.csv, events.jsonl, summary.json"),
    persons: int = typer.Option(10_000, min=1, help="At least this many persons"),
    seed: int = typer.Option(2026, help="Same seed, same county"),
    county: str = typer.Option("360702", help="6-digit county code in the registry's division table"),
    township: str | None = typer.Option(None, help="Only this township (9 or 12 digits)"),
    as_of: str = typer.Option("2026-01-01", help="Ages and events are as of this day"),
    divisions: Path = typer.Option(DEFAULT_TABLE, help="The registry's division table (CSV)"),
) -> None:
    """Write a synthetic county as registry import files plus the life events to record after import."""
    day = date.fromisoformat(as_of)
    townships = county_townships(county, divisions, day)
    if township:
        townships = [t for t in townships if t.code.startswith(township[:9])]
        if not townships:
            raise typer.BadParameter(f"no township {township} in county {county}")
    generator = CountyGenerator(seed=seed, townships=townships, as_of=day)
    with console.status(f"generating {persons:,} persons…"):
        summary = write_county(generator.households(persons), out)
    table = Table(title=f"Synthetic county {county} (seed {seed}) → {out}")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("households", f"{summary.households:,}")
    table.add_row("persons", f"{summary.persons:,}")
    for kind, n in sorted(summary.by_kind.items()):
        table.add_row(f"  {kind}", f"{n:,}")
    table.add_row("migrant households", f"{summary.migrants:,}")
    table.add_row("low-income households", f"{summary.low_income:,}")
    for kind, n in sorted(summary.events.items()):
        table.add_row(f"event {kind}", f"{n:,}")
    console.print(table)


@county_app.command("load")
def load(
    folder: Path = typer.Option(Path(".data/county"), help="Folder written by `county generate`"),
    registry: str = typer.Option("http://127.0.0.1:8001", help="The registry's base URL"),
    county: str = typer.Option("360702", help="The caseworker token's region"),
) -> None:
    """Import a generated county into a running registry (`make run`) and record its life events."""
    import asyncio

    asyncio.run(_load(folder, registry, county))


def _county_files(folder: Path) -> tuple[list[Path], list[str]]:
    events = (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return sorted(folder.glob("persons-*.csv")), [line for line in events if line]


async def _load(folder: Path, registry: str, county: str) -> None:
    import asyncio

    import httpx
    from rich.progress import Progress

    from demo.county.load import LoadReport, RegistryLoader
    from demo.tokens import headers

    report = LoadReport()
    async with httpx.AsyncClient(
        base_url=registry, timeout=120, headers=headers(["caseworker"], county, "demo-loader")
    ) as client:
        loader = RegistryLoader(client)
        files, events = await asyncio.to_thread(_county_files, folder)
        with Progress(console=console) as progress:
            imports = progress.add_task("importing households", total=len(files))
            for path in files:
                await loader.import_file(path, report)
                progress.advance(imports)
            recording = progress.add_task("recording life events", total=len(events))
            await loader.record_events(folder / "events.jsonl", report, lambda n: progress.advance(recording, n))
    console.print(
        f"imported {report.imported_rows:,} persons ({report.failed_rows:,} rows refused), "
        f"{report.events_recorded:,} events recorded, {report.events_skipped:,} already there"
    )
    for error in report.errors[:10]:
        console.print(f"[yellow]{error}")


@app.command("run")
def run(
    registry: str = typer.Option("http://127.0.0.1:8001", help="Registry base URL"),
    entitlements: str = typer.Option("http://127.0.0.1:8002", help="Entitlements base URL"),
    relief: str = typer.Option("http://127.0.0.1:8003", help="Relief base URL"),
    notifications: str = typer.Option("http://127.0.0.1:8004", help="Notifications base URL"),
    payments: str = typer.Option("http://127.0.0.1:8101", help="Payment simulator base URL"),
    sms: str = typer.Option("http://127.0.0.1:8102", help="SMS simulator base URL"),
    receiver: str = typer.Option("http://127.0.0.1:8103", help="Where the demo partner receiver listens"),
    township: str = typer.Option("360702100", help="9-digit township code (default 沙石镇)"),
    persons: int = typer.Option(3000, min=10, help="At least this many persons"),
    seed: int | None = typer.Option(None, help="Generator seed (default: a new one each run, so re-runs add families)"),
    timeout: float = typer.Option(300, help="Seconds a stage may take before the demo gives up"),
    with_notifications: bool = typer.Option(
        True, "--sms-and-webhooks/--no-sms-and-webhooks", help="SMS and webhooks (off: those stages are skipped)"
    ),
    workdir: Path = typer.Option(Path(".data/demo"), help="Where the generated township's files go"),
) -> None:
    """The county's year against a running `make run`: township, cycles, funds, payments, SMS, webhooks,
    a child's death; ends with a summary table. Exit code 1 if a stage fails or the ledger does not balance."""
    import time

    from demo.run import run_command
    from demo.year.http import Urls
    from demo.year.story import StoryOptions

    chosen = seed if seed is not None else int(time.time()) % 1_000_000
    options = StoryOptions(
        township=township,
        county=township[:6],
        persons=persons,
        seed=chosen,
        run_tag=f"s{chosen}",
        workdir=workdir,
        stage_timeout=timeout,
        notifications=with_notifications,
    )
    urls = Urls(registry, entitlements, relief, notifications, payments, sms, receiver)
    console.print(f"township {township}, {persons:,} persons, seed {chosen}")
    raise typer.Exit(run_command(urls, options, console))
