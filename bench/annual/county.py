"""Stage 1: the synthetic county generated (`demo.county`) and put into the registry through its public
API — the import files through the bulk import (`POST /v1/imports`), the life events the files cannot
carry (deaths, disability assessments, honour certificates, low-income spells) through the demo loader's
API path (`POST /v1/persons/{id}/events` after a search by ID number)."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx

COUNTY = "360702"
AS_OF = date(2026, 1, 1)


# Life-event columns of the registry's import file (registry.domain.import_rows), when it has them: the
# events of each person then travel in the import itself instead of one API call each.
EVENT_HEADERS = ("死亡日期", "残疾等级", "残疾评定日期", "光荣证号", "发证日期", "低保类别", "低保起始日期")
EVENT_COLUMNS = (
    "death_date",
    "disability_grade",
    "disability_assessed_on",
    "certificate_number",
    "certificate_issued_on",
    "low_income_kind",
    "low_income_since",
)


def registry_takes_event_columns() -> bool:
    from registry.domain.import_rows import BY_NAME

    return all(name in BY_NAME for name in EVENT_COLUMNS)


def _event_cells(events: list[Any]) -> list[str]:
    cells = [""] * len(EVENT_COLUMNS)
    for event in events:
        day = event.effective_date.isoformat()
        if event.kind == "death":
            cells[0] = day
        elif event.kind == "disability_assessed":
            cells[1], cells[2] = str(event.payload["grade"]), day
        elif event.kind == "certificate_issued":
            cells[3], cells[4] = str(event.payload["certificate_number"]), day
        elif event.kind == "low_income_changed":
            cells[5], cells[6] = str(event.payload.get("low_income_kind", "dibao")), day
    return cells


def write_with_event_columns(households, out: Path, persons_per_file: int = 200_000) -> dict[str, Any]:  # noqa: ANN001
    """`demo.county.files.write_county`'s files with the life events as columns of each person's row."""
    import csv

    from demo.county.files import HEADERS, CountySummary, csv_rows

    out.mkdir(parents=True, exist_ok=True)
    summary = CountySummary()
    part, in_part, handle, writer = 0, 0, None, None
    try:
        for household in households:
            if writer is None or in_part >= persons_per_file:
                if handle:
                    handle.close()
                part += 1
                in_part = 0
                summary.files.append(name := f"persons-{part:03d}.csv")
                handle = (out / name).open("w", encoding="utf-8", newline="")
                writer = csv.writer(handle)
                writer.writerow((*HEADERS, *EVENT_HEADERS))
            by_person: dict[str, list[Any]] = {}
            for event in household.events:
                by_person.setdefault(event.id_number, []).append(event)
            for person, row in zip(household.members, csv_rows(household), strict=True):
                writer.writerow([*row, *_event_cells(by_person.get(person.id_number, []))])
            in_part += len(household.members)
            summary.add(household)
    finally:
        if handle:
            handle.close()
    return summary.as_dict()


def generate(out: Path, persons: int, seed: int, event_columns: bool) -> dict[str, Any]:
    from demo.county.divisions import county_townships
    from demo.county.families import CountyGenerator
    from demo.county.files import write_county

    started = time.perf_counter()
    generator = CountyGenerator(seed=seed, townships=county_townships(COUNTY, on=AS_OF), as_of=AS_OF)
    if event_columns:
        summary = write_with_event_columns(generator.households(persons), out)
        summary["life_events_as_columns"] = sum(summary["events"].values())
        summary["life_events"] = 0  # nothing left to record through the API
    else:
        summary = write_county(generator.households(persons), out).as_dict()
        summary["life_events"] = sum(1 for line in (out / "events.jsonl").open(encoding="utf-8") if line.strip())
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


def import_columns(event_columns: bool) -> int:
    from demo.county.files import HEADERS

    return len(HEADERS) + (len(EVENT_HEADERS) if event_columns else 0)


async def import_files(base: str, headers: dict[str, str], files: list[Path], progress) -> dict[str, Any]:  # noqa: ANN001
    """Every file through `POST /v1/imports`, one job after the other, each polled until it ends."""
    jobs = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as client:
        for path in files:
            with path.open("rb") as f:
                response = await client.post("/v1/imports", files={"file": (path.name, f, "text/csv")})
            if response.is_error:
                raise RuntimeError(f"import of {path.name}: {response.status_code} {response.text[:500]}")
            job = response.json()
            while job["status"] in ("queued", "running"):
                await asyncio.sleep(0.5)
                job = (await client.get(f"/v1/imports/{job['id']}")).raise_for_status().json()
                progress(f"importing {path.name}: {job['done']:,}/{job['total']:,} rows")
            if job["status"] != "completed":
                raise RuntimeError(f"import of {path.name} ended {job['status']}: {job}")
            jobs.append(
                {k: job.get(k) for k in ("id", "status", "total", "done", "failed", "created_at", "finished_at")}
            )
    rows = sum(j["done"] - j["failed"] for j in jobs)
    return {"files": len(files), "rows_imported": rows, "rows_failed": sum(j["failed"] for j in jobs), "jobs": jobs}


async def record_life_events(
    base: str, headers: dict[str, str], events_file: Path, concurrency: int, progress
) -> dict[str, Any]:  # noqa: ANN001
    from demo.county.load import LoadReport, RegistryLoader

    report = LoadReport()
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if done % 500 == 0:
            progress(f"life events: {done:,} recorded through the API")

    async with httpx.AsyncClient(
        base_url=base, headers=headers, timeout=120, limits=httpx.Limits(max_connections=concurrency)
    ) as client:
        await RegistryLoader(client, concurrency=concurrency).record_events(events_file, report, advance)
    return {
        "recorded": report.events_recorded,
        "skipped": report.events_skipped,
        "errors": len(report.errors),
        "first_errors": report.errors[:5],
        "requests_per_event": 3,
        "concurrency": concurrency,
    }
