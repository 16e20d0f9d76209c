"""`guanhuai-demo run`: a township's year against a running `make run`, with progress bars and a summary.

The demo partner receiver is served in this process on 127.0.0.1:8103 (uvicorn); the story itself is
`demo.year.story.AnnualStory`, the same code the end-to-end test runs against the embedded platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from demo.receiver import create_app as create_receiver
from demo.year.http import Actors, Urls
from demo.year.story import AnnualStory, StoryOptions
from demo.year.summary import YearSummary

STATUS_STYLE = {"ok": "green", "skipped": "yellow", "failed": "red", "blocked": "red", "pending": "dim"}


class RichReporter:
    """Stage progress as rich progress bars, one per stage."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, int] = {}

    def start(self, key: str, description: str, total: float | None = None) -> None:
        if key in self.tasks:
            self.progress.reset(self.tasks[key], total=total, description=description)
        else:
            self.tasks[key] = self.progress.add_task(description, total=total)

    def advance(self, key: str, amount: float = 1) -> None:
        if key in self.tasks:
            self.progress.advance(self.tasks[key], amount)

    def update(self, key: str, completed: float, total: float | None = None) -> None:
        if key in self.tasks:
            self.progress.update(self.tasks[key], completed=completed, **({"total": total} if total else {}))

    def finish(self, key: str, note: str = "") -> None:
        style = STATUS_STYLE.get(note, "white")
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(key, total=1)
        task = self.progress.tasks[self.tasks[key]]
        self.progress.update(
            self.tasks[key], total=task.total or 1, completed=task.total or 1, description=f"[{style}]{key}: {note}"
        )


@contextlib.asynccontextmanager
async def serving_receiver(base_url: str) -> AsyncIterator[str]:
    """The demo partner receiver on the host and port of `base_url`, in this event loop."""
    import socket

    import uvicorn

    where = urlsplit(base_url)
    with socket.socket() as probe:  # uvicorn would exit the whole process on a taken port
        if probe.connect_ex((where.hostname or "127.0.0.1", where.port or 8103)) == 0:
            raise SystemExit(
                f"the demo receiver's port is taken ({base_url}): is another demo running? "
                "Use --receiver to pick another address."
            )
    server = uvicorn.Server(
        uvicorn.Config(
            create_receiver(),
            host=where.hostname or "127.0.0.1",
            port=where.port or 8103,
            log_level="warning",
            access_log=False,
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError(f"the demo receiver did not start on {base_url}")
            await asyncio.sleep(0.02)
        yield base_url
    finally:
        server.should_exit = True
        await task


async def run_year(urls: Urls, options: StoryOptions, console: Console) -> YearSummary:
    from demo.tokens import headers

    class DevTokens:
        def headers(self, **kwargs: object) -> dict[str, str]:
            return headers(list(kwargs["roles"]), kwargs.get("region"), str(kwargs["sub"]))  # type: ignore[arg-type]

    actors = Actors.minted(DevTokens(), options.county, options.township)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    async with serving_receiver(urls.receiver):
        with Progress(*columns, console=console) as progress:
            story = AnnualStory(urls, actors, options, RichReporter(progress))
            return await story.run()


def summary_tables(summary: YearSummary) -> list[Table]:
    stages = Table(title=f"The year in township {summary.township} (run {summary.run_tag})")
    for column in ("stage", "status", "seconds", "note"):
        stages.add_column(column, justify="right" if column == "seconds" else "left", overflow="fold")
    for s in summary.stages:
        style = STATUS_STYLE.get(s.status, "white")
        stages.add_row(s.name, f"[{style}]{s.status}", f"{s.seconds:.1f}", escape(s.note))

    totals = Table(title="Summary")
    totals.add_column("what")
    totals.add_column("value", justify="right")
    totals.add_row("families (households)", f"{summary.households:,}")
    totals.add_row("persons", f"{summary.persons:,} ({summary.rows_refused} rows refused)")
    for p in summary.policies:
        totals.add_row(f"decisions · {p.policy} {p.period}", f"{p.lines:,} ({p.amount_fen / 100:,.2f} 元 in the cycle)")
    paid = any(s.name == "payments settled" and s.status == "ok" for s in summary.stages)
    for p in summary.policies:
        if p.lines and not paid:
            totals.add_row(f"yuan paid · {p.policy}", "[yellow]not paid (see the stages above)")
        elif p.lines:
            extra = ", ".join(f"{n} {k}" for k, n in sorted(p.payments.items()) if k != "succeeded")
            paid = f"{p.paid_fen / 100:,.2f} 元 to {p.payments['succeeded']:,}"
            totals.add_row(f"yuan paid · {p.policy}", paid + (f" ({extra})" if extra else ""))
    stage = {s.name: s for s in summary.stages}
    sms, hooks = stage.get("sms delivered"), stage.get("webhooks delivered")
    if sms and sms.status == "ok":
        totals.add_row("SMS payment notices", sms_row(summary))
    else:
        totals.add_row("SMS payment notices", f"[yellow]{sms.status if sms else 'skipped'}")
    if hooks and hooks.status == "ok":
        totals.add_row(
            "webhooks delivered (verified)", f"{summary.webhooks_delivered:,} ({summary.webhooks_rejected} rejected)"
        )
    else:
        totals.add_row("webhooks delivered (verified)", f"[yellow]{hooks.status if hooks else 'skipped'}")
    death = summary.death
    totals.add_row(
        "child's death → special assistance",
        "granted" if death.granted else "[red]not seen" + (f" (registry: {death.outcome})" if death.outcome else ""),
    )
    invariant = {True: "[green]OK", False: "[red]BROKEN", None: "[yellow]not checked"}[summary.invariant_ok]
    totals.add_row("ledger invariant", invariant)
    return [stages, totals]


def sms_row(s: YearSummary) -> str:
    """e.g. "230 delivered of 236 sent (6 not delivered) · 2 not sent · 22 suppressed": the parts add up."""
    text = f"{s.sms_delivered:,} delivered of {s.sms_sent:,} sent"
    if s.sms_undelivered:
        text += f" ({s.sms_undelivered:,} not delivered)"
    return text + f" · {s.sms_not_sent:,} not sent · {s.sms_suppressed:,} suppressed"


def run_command(urls: Urls, options: StoryOptions, console: Console) -> int:
    started = time.monotonic()
    summary = asyncio.run(run_year(urls, options, console))
    for table in summary_tables(summary):
        console.print(table)
    console.print(
        f"{'[green]done' if summary.ok else '[red]not everything went through'} in {time.monotonic() - started:.0f} s"
    )
    return 0 if summary.ok else 1
