"""Putting a generated county into a running registry through its public API.

Import files go through `POST /v1/imports` (the registry's bulk import); the life events the file cannot
carry are recorded with `POST /v1/persons/{id}/events` after finding each person by ID number.
Everything is idempotent on the registry's side: importing the same file again changes nothing, and the
loader skips an event the person already has (same kind and date), so a re-run after an interruption
finishes the job instead of doubling it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

POLL_SECONDS = 0.5


@dataclass
class LoadReport:
    imported_rows: int = 0
    failed_rows: int = 0
    events_recorded: int = 0
    events_skipped: int = 0
    errors: list[str] = field(default_factory=list)


class RegistryLoader:
    def __init__(self, client: httpx.AsyncClient, concurrency: int = 16) -> None:
        self.client = client
        self.concurrency = concurrency

    async def import_file(self, path: Path, report: LoadReport) -> dict[str, Any]:
        with path.open("rb") as f:
            response = await self.client.post("/v1/imports", files={"file": (path.name, f, "text/csv")})
        _raise_for_problem(response)
        job = response.json()
        while job["status"] in ("queued", "running"):
            await asyncio.sleep(POLL_SECONDS)
            job = (await self.client.get(f"/v1/imports/{job['id']}")).raise_for_status().json()
        if job["status"] != "completed":
            raise RuntimeError(f"import of {path.name} ended {job['status']}")
        report.imported_rows += job["done"] - job["failed"]
        report.failed_rows += job["failed"]
        if job["failed"]:
            first = (await self.client.get(f"/v1/imports/{job['id']}/errors", params={"limit": 5})).json()
            report.errors.extend(f"{path.name} row {e['row']} {e['column']}: {e['message']}" for e in first["items"])
        return job

    async def record_events(
        self, events_file: Path, report: LoadReport, progress: Callable[[int], None] = lambda n: None
    ) -> None:
        text = await asyncio.to_thread(events_file.read_text, encoding="utf-8")
        lines = [json.loads(line) for line in text.splitlines() if line]
        gate = asyncio.Semaphore(self.concurrency)

        async def one(event: dict[str, Any]) -> None:
            async with gate:
                await self._record(event, report)
                progress(1)

        await asyncio.gather(*(one(e) for e in lines))

    async def _record(self, event: dict[str, Any], report: LoadReport) -> None:
        found = await self.client.get("/v1/search/persons", params={"id_number": event["id_number"]})
        _raise_for_problem(found)
        items = found.json()["items"]
        if not items:
            report.errors.append(f"no person with ID {event['id_number'][:6]}… for {event['kind']}")
            return
        person_id = items[0]["id"]
        body = {k: v for k, v in event.items() if k not in ("household_ref", "division_code", "id_number")}
        if await self._already_recorded(person_id, body):
            report.events_skipped += 1
            return
        _raise_for_problem(await self.client.post(f"/v1/persons/{person_id}/events", json=body))
        report.events_recorded += 1

    async def _already_recorded(self, person_id: str, body: dict[str, Any]) -> bool:
        history = (await self.client.get(f"/v1/persons/{person_id}/events")).raise_for_status().json()
        return any(e["kind"] == body["kind"] and e["effective_date"] == body["effective_date"] for e in history)


def _raise_for_problem(response: httpx.Response) -> None:
    if response.is_error:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text[:300]}"
        )
