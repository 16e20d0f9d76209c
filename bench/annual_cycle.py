"""Headline benchmark: a county's whole year at 1,000,000 persons, end to end, on this machine.

Run with `uv run python bench/annual_cycle.py` (a quick look: `--persons 20000`). Everything runs on
loopback in a temporary folder removed at the end, started the way `make run` starts the platform
(`carekit.devstack.stack`): one embedded PostgreSQL with durable settings (fsync, synchronous_commit
and full_page_writes on; max_wal_size 8GB as for bulk loads) holding the four services' databases, NATS
with JetStream, the payment and SMS simulators and the four services under uvicorn in subprocesses
(`--workers`, two for the registry and entitlements by default).

Stages, each timed by wall clock and put beside the physical baseline measured in the same run:

1. county — the synthetic county generated (`demo.county`: `CountyGenerator`, `write_county`) and
   imported through the registry's bulk import (`POST /v1/imports`); the life events the import files
   cannot carry recorded through the registry's API (the demo loader's path), timed on their own.
   Baseline: raw COPY of the same rows into a plain table (rows/s).
2. facts and evaluation — until entitlements has projected every person's household facts from the
   registry's events over NATS (registry outbox empty, the projection's consumer drained), then every
   library policy evaluated over the whole population by the SQL path (bench/entitlements_batch.py's
   method). Baseline: raw JetStream publishing of registry-sized envelopes (msgs/s) for the events
   the registry published.
3. cycles — the year's cycles of every cash policy (yearly ones for 2026, monthly ones for each month
   up to `--months`) created by an admin and approved by another approver through the entitlements API,
   until relief has collected every batch. Baseline: raw COPY rows/s for the lines written.
4. relief — the funds opened and funded, every batch reserved and approved by a fund manager, every
   payment sent to the payment simulator and settled by its batch callbacks; the ledger invariant.
   Baseline: bare HTTP requests/s to a trivial FastAPI endpoint, one request per payment.
5. notifications — after stage 4, until every SMS queued (payments succeeded; decisions) has been
   delivered to the SMS simulator. Baseline: bare HTTP requests/s, one request per SMS.

Results: a rich table (and the same as Markdown), bench/results/annual_cycle.json, docs/annual_cycle.png.
Target: the whole year in ≤ 5 minutes. The run is bounded: a stage part that waits longer than
`--stage-timeout` seconds (default 20 minutes), or past `--deadline HH:MM` (UTC), is recorded as incomplete
with its progress (for the projection: events handled, rate, time the rest would take), and the later
stages are not run. `--reference FILE` keeps another run's figures (e.g. a smaller county run to the end)
beside this one, in the JSON and the plot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# bench/notifications.py is named like the service's package: keep bench/ off the import path and import
# the helpers as the namespace package `bench` from the repository root instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.append(str(ROOT))

from rich.console import Console  # noqa: E402

from bench.annual import baselines, county, report, year  # noqa: E402
from bench.annual.cpu import CpuMeter  # noqa: E402
from bench.annual.stack import Stack  # noqa: E402

TARGET_S = 300.0
console = Console()


def say(text: str) -> None:
    console.print(f"[dim]{datetime.now(UTC):%H:%M:%S}[/dim] {text}")


class Progress:
    """Prints a waiting stage's state at most every `every` seconds."""

    def __init__(self, every: float = 10.0) -> None:
        self.every, self.last = every, 0.0

    def __call__(self, text: str) -> None:
        if time.monotonic() - self.last >= self.every:
            self.last = time.monotonic()
            say(f"  … {text}")


class Run:
    def __init__(self, options: argparse.Namespace, stack: Stack) -> None:
        self.options, self.stack = options, stack
        self.results: dict[str, Any] = {"stages": [], "target_s": TARGET_S}
        self.progress = Progress()
        self.stopped: str | None = None  # why later stages are not run

    # -- time ----------------------------------------------------------------------------------------------
    def remaining(self) -> float:
        if self.options.deadline is None:
            return self.options.stage_timeout
        return max(1.0, min(self.options.stage_timeout, (self.options.deadline - datetime.now(UTC)).total_seconds()))

    def meter(self) -> CpuMeter:
        def groups() -> dict[str, list[int]]:
            stack = self.stack
            found = {"bench": [os.getpid()], "postgresql": [stack.postmaster_pid()], "nats": [stack.nats_pid()]}
            for name, process in list(stack.processes.items()):
                found[name] = [process.pid]
            return {name: [p for p in pids if p] for name, pids in found.items()}

        return CpuMeter(groups)

    def stage(self, name: str, unit: str, baseline_name: str, baseline_rate: float | None) -> dict[str, Any]:
        record = {
            "name": name,
            "unit": unit,
            "units": None,
            "wall_s": None,
            "parts": {},
            "complete": False,
            "baseline": {"name": baseline_name, "rate": baseline_rate} if baseline_rate else None,
        }
        self.results["stages"].append(record)
        return record

    @staticmethod
    def finish(record: dict[str, Any], units: int | None) -> None:
        record["units"] = units
        if not record["parts"]:
            return
        record["wall_s"] = round(sum(p["wall_s"] for p in record["parts"].values() if p.get("wall_s") is not None), 2)
        base = record.get("baseline")
        if base and units:
            base["seconds"] = round(units / base["rate"], 3)
            record["ratio"] = round(record["wall_s"] / base["seconds"], 1) if base["seconds"] else None

    def part(self, record: dict[str, Any], name: str, coro_factory) -> Any:  # noqa: ANN001
        """Run one timed part of a stage; a timeout or an error is recorded and stops the later stages."""
        say(f"[b]{record['name']}[/b]: {name}")
        with self.meter() as meter:
            started = time.perf_counter()
            try:
                value = asyncio.run(coro_factory())
                ok, detail = True, value
            except year.StageTimeout as exc:
                ok, detail, value = False, {"timed_out_waiting_for": exc.what, "progress": exc.progress}, None
                self.stopped = f"{record['name']} / {name}: not finished within the time allowed"
            except Exception as exc:  # noqa: BLE001 - recorded in the results, the run goes on to report
                ok, value = False, None
                detail = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
                self.stopped = f"{record['name']} / {name}: {type(exc).__name__}"
                console.print(traceback.format_exc())
            wall = time.perf_counter() - started
        record["parts"][name] = {"wall_s": round(wall, 2), "ok": ok, "cpu": meter.report(), "detail": detail}
        cpu = meter.report()
        say(
            f"  {name}: {wall:,.1f} s {'' if ok else '[red](not finished)'} · cores: own {cpu['own_cores']}, "
            f"others {cpu['other_cores']} · cpu s {cpu['cpu_s']}"
        )
        return value

    # -- the year ------------------------------------------------------------------------------------------
    def run(self) -> None:  # noqa: PLR0915
        options, stack = self.options, self.stack
        tokens = _tokens()
        caseworker = tokens.headers(
            roles=["caseworker"], region=county.COUNTY, sub="bench-caseworker", ttl_seconds=7200
        )
        fund_manager = tokens.headers(
            roles=["fund_manager"], region=county.COUNTY, sub="bench-fund-manager", ttl_seconds=7200
        )
        auditor = tokens.headers(roles=["auditor"], region=county.COUNTY, sub="bench-auditor", ttl_seconds=7200)
        dsns = {name: _dsn(url) for name, url in stack.db_urls.items()}

        # stage 1a: the county's files (before the baselines: the COPY baseline copies these rows)
        s1 = self.stage("1 county: generate + import + life events", "persons", "raw COPY", None)
        out = stack.root / "county"

        event_columns = options.event_columns and county.registry_takes_event_columns()
        self.results["life_events_path"] = "import columns" if event_columns else "API (demo loader)"

        async def generate() -> dict[str, Any]:
            return await asyncio.to_thread(county.generate, out, options.persons, options.seed, event_columns)

        summary = self.part(s1, "generate", generate)
        files = sorted(out.glob("persons-*.csv"))

        # the baselines, on the same servers, before the services start
        say("[b]baselines[/b]")
        base = self.results["baselines"] = {}
        base["raw_copy"] = asyncio.run(
            baselines.raw_copy(_dsn(stack.pg.admin_url), files, county.import_columns(event_columns))
        )
        base["jetstream_publish"] = asyncio.run(baselines.jetstream_publish(stack.nats_url, options.publish_count))
        from carekit.devstack.servers import free_port

        base["bare_http"] = baselines.bare_http(stack.root, free_port())
        say(
            f"  raw COPY {base['raw_copy']['rows_per_s']:,} rows/s · "
            f"JetStream {base['jetstream_publish']['msgs_per_s']:,} msgs/s · "
            f"bare HTTP {base['bare_http']['requests_per_s']:,} req/s, round trip "
            f"{base['bare_http']['round_trip_p50_ms']} ms"
        )
        copy_rate = base["raw_copy"]["rows_per_s"]
        publish_rate = base["jetstream_publish"]["msgs_per_s"]
        http_rate = base["bare_http"]["requests_per_s"]
        s1["baseline"] = {"name": "raw COPY", "rate": copy_rate}

        say("starting the simulators and the services")
        stack.start_simulators()
        stack.start_services(("registry", "entitlements", "relief"))
        notifications_error = None
        try:
            stack.start_services(("notifications",))
        except Exception as exc:  # noqa: BLE001 - the notifications service may not be finished yet
            notifications_error = f"{type(exc).__name__}: {exc}"[:2000]
            say(f"[yellow]notifications did not start: {notifications_error[:300]}")
            stack.stop_process("notifications")
        registry, entitlements, relief = (stack.url(n) for n in ("registry", "entitlements", "relief"))

        # stage 1b, 1c
        self.part(
            s1,
            "import",
            lambda: _bounded(
                county.import_files(registry, caseworker, files, self.progress), self.remaining(), "import"
            ),
        )
        if summary and summary["life_events"] and not self.stopped:
            events = out / "events.jsonl"
            self.part(
                s1,
                "life events (API)",
                lambda: _bounded(
                    county.record_life_events(registry, caseworker, events, options.loader_concurrency, self.progress),
                    self.remaining(),
                    "life events",
                ),
            )
        s1["county"] = summary
        self.finish(s1, summary["persons"] if summary else None)

        # stage 2
        s2 = self.stage("2 facts projected + policies evaluated", "events", "raw JetStream publish", publish_rate)
        projected = None
        if not self.stopped:

            async def projection() -> dict[str, Any]:
                async with year.Watch(dsns, stack.nats_url) as watch:
                    return await year.wait_projection(watch, summary["persons"], self.remaining(), self.progress)

            projected = self.part(s2, "projection (registry events → entitlements)", projection)
        if not self.stopped:
            from bench import entitlements_batch

            s2["evaluation"] = self.part(
                s2, "SQL path, every library policy", lambda: entitlements_batch.sql_path(stack.db_urls["entitlements"])
            )
        if projected is None and s2["parts"]:  # gave up waiting: the stage's work is what was in the stream then
            waited = next(iter(s2["parts"].values()))["detail"].get("progress") or {}
            s2["incomplete_progress"] = waited
            self.finish(s2, waited.get("events_in_stream"))
        else:
            self.finish(s2, (projected or {}).get("registry_events"))

        # stage 3
        s3 = self.stage("3 cycles created + approved", "lines", "raw COPY", copy_rate)
        cycles: list[dict[str, Any]] = []
        if not self.stopped:
            cycles = (
                self.part(
                    s3,
                    "create + approve (entitlements API)",
                    lambda: year.run_cycles(
                        entitlements, tokens, options.months, options.cycle_concurrency, self.progress
                    ),
                )
                or []
            )
        if cycles and not self.stopped:

            async def collected() -> dict[str, Any]:
                async with year.Watch(dsns, stack.nats_url) as watch:
                    return await year.wait_batches_collected(watch, cycles, self.remaining(), self.progress)

            self.part(s3, "relief collects the batches (C2 over NATS)", collected)
        s3["cycles"] = cycles
        self.finish(s3, sum(c["lines"] for c in cycles) or None)

        # stage 4
        s4 = self.stage("4 relief: fund, reserve, approve, send, settle", "payments", "bare HTTP", http_rate)
        if not self.stopped:
            self._relief(s4, dsns, cycles, fund_manager, auditor, relief)

        # stage 5
        s5 = self.stage("5 notifications: SMS delivered", "SMS", "bare HTTP", http_rate)
        if notifications_error:
            s5["status"] = "not run"
            s5["note"] = f"the notifications service did not start: {notifications_error}"
        elif not self.stopped:

            async def sms() -> dict[str, Any]:
                async with year.Watch(dsns, stack.nats_url) as watch:
                    return await year.wait_sms(watch, self.remaining(), self.progress)

            delivered = self.part(s5, "until every queued SMS is delivered", sms)
            if delivered:
                s5["messages"] = delivered
                s5["simulator"] = _get_json(f"{stack.url('sms')}/_sim/stats")
            self.finish(s5, sum((delivered or {}).get("messages", {}).values()) or None)
            span = ((delivered or {}).get("all_sms") or {}).get("span_s")
            if span and (s5.get("baseline") or {}).get("seconds"):
                # the SMS go out while stages 2-4 run: the wall time above is what the year waits for after
                # stage 4; the ratio compares the whole span (first queued to last receipt) with the baseline
                s5["span_s"] = span
                s5["ratio"] = round(span / s5["baseline"]["seconds"], 1)
        if self.stopped and not s5.get("status"):
            s5.setdefault("status", "not run" if not s5["parts"] else "no")

        for record in self.results["stages"]:
            record["complete"] = bool(record["parts"]) and all(p["ok"] for p in record["parts"].values())
            if not record["parts"]:
                record.setdefault("status", "not run")
        self.results["stopped"] = self.stopped

    def _relief(
        self,
        s4: dict[str, Any],
        dsns: dict[str, str],
        cycles: list[dict[str, Any]],
        fund_manager: dict[str, str],
        auditor: dict[str, str],
        relief: str,
    ) -> None:
        stack = self.stack

        async def fund_reserve_approve() -> dict[str, Any]:
            async with year.Watch(dsns, stack.nats_url) as watch:
                batches = await year.batches_of(watch, cycles)
            needs: dict[str, int] = {}
            for batch in batches:
                needs[batch["fund_code"]] = needs.get(batch["fund_code"], 0) + int(batch["total_amount_fen"])
            funds = await year.open_funds(relief, fund_manager, needs)
            counts = await year.reserve_and_approve(relief, fund_manager, batches)
            return {"batches": len(batches), **funds, **counts, "batch_ids": [b["id"] for b in batches]}

        setup = self.part(s4, "fund + reserve + approve (relief API)", fund_reserve_approve)
        settled = None
        if setup and not self.stopped:

            async def settle() -> dict[str, Any]:
                async with year.Watch(dsns, stack.nats_url) as watch:
                    return await year.wait_payments_settled(watch, setup["batch_ids"], self.remaining(), self.progress)

            settled = self.part(s4, "send + settle (payment simulator, batch callbacks)", settle)
        if settled and not self.stopped:

            async def published() -> dict[str, Any]:
                async with year.Watch(dsns, stack.nats_url) as watch:
                    return await year.wait_relief_outbox(watch, self.remaining(), self.progress)

            self.part(s4, "relief.payment.* events published", published)
            s4["invariant"] = asyncio.run(year.invariant(relief, auditor))
            s4["simulator"] = _get_json(f"{stack.url('payments')}/_sim/stats")
        s4["payments"] = settled
        self.finish(s4, sum((settled or {}).get("payments", {}).values()) or None)


async def _bounded(coro, limit_s: float, what: str):  # noqa: ANN001, ANN202
    try:
        return await asyncio.wait_for(coro, limit_s)
    except TimeoutError:
        raise year.StageTimeout(what, {"timeout_s": round(limit_s)}) from None


def _tokens():  # noqa: ANN202
    from carekit.testing.tokens import TokenFactory

    return TokenFactory()


def _dsn(url: str) -> str:
    from carekit.db.engine import asyncpg_dsn

    return asyncpg_dsn(url)


def _get_json(url: str) -> Any:
    import httpx

    try:
        return httpx.get(url, timeout=30).json()
    except Exception as exc:  # noqa: BLE001
        return {"error": str(exc)}


def machine(pg_version: str) -> dict[str, Any]:
    import psutil

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    return {
        "cpu": model,
        "cores": len(os.sched_getaffinity(0)),
        "ram_gib": round(psutil.virtual_memory().total / 2**30),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": pg_version,
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def parse_workers(text: str) -> dict[str, int]:
    return {name: int(n) for name, n in (item.split("=") for item in text.split(",") if item)}


def deadline(text: str | None) -> datetime | None:
    if not text:
        return None
    hours, minutes = (int(x) for x in text.split(":"))
    return datetime.now(UTC).replace(hour=hours, minute=minutes, second=0, microsecond=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--months", type=int, default=12, help="monthly cycles of the monthly cash policies")
    parser.add_argument(
        "--workers",
        type=parse_workers,
        default=parse_workers("registry=2,entitlements=2,relief=1,notifications=1"),
        help="uvicorn workers per service",
    )
    parser.add_argument(
        "--no-event-columns",
        dest="event_columns",
        action="store_false",
        help="record the life events through the API even if the import takes them as columns",
    )
    parser.add_argument("--loader-concurrency", type=int, default=16, help="life events recorded at once")
    parser.add_argument("--cycle-concurrency", type=int, default=2, help="cycles created at once")
    parser.add_argument("--publish-count", type=int, default=50_000, help="messages of the JetStream baseline")
    parser.add_argument("--stage-timeout", type=float, default=1200.0, help="longest wait of any one stage part (s)")
    parser.add_argument(
        "--deadline",
        type=deadline,
        default=None,
        help="HH:MM UTC: stop waiting then, record the stage as incomplete, skip the rest",
    )
    parser.add_argument(
        "--reference",
        type=Path,
        action="append",
        help="results JSON of another run (e.g. a smaller county run to the end) to keep beside",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (and its logs)")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "annual_cycle.json")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "annual_cycle.png")
    options = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="annual-bench-"))
    os.environ["GUANHUAI_DATA_DIR"] = str(tmp / "data")  # dev keys of this run only, shared by every process
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    stack = Stack(tmp, options.workers)
    run = Run(options, stack)
    started = time.perf_counter()
    run.results["started"] = datetime.now(UTC).isoformat(timespec="seconds")
    run.results["options"] = {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in vars(options).items()
        if k not in ("results", "plot")
    }
    try:
        say(f"load average at start: {load_at_start}; temporary folder {tmp}")
        stack.start_servers()
        stack.migrate()
        stack.allocate_ports()
        run.results["machine"] = machine(stack.pg_version) | {"load_avg_at_start": load_at_start}
        run.run()
    except Exception as exc:  # noqa: BLE001 - report what was measured
        console.print(traceback.format_exc())
        run.results["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        run.results["logs_tail"] = {
            n: stack.log_tail(n, 1500)
            for n in ("registry", "entitlements", "relief", "notifications")
            if "Traceback" in stack.log_tail(n, 200_000)
        }
        stack.stop()
        if options.keep:
            console.print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results = run.results
    results["bench_wall_s"] = round(time.perf_counter() - started, 1)
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["machine"] = results.get("machine", {}) | {"load_avg_at_end": [round(x, 2) for x in os.getloadavg()]}
    measured = [s["wall_s"] for s in results["stages"] if s.get("wall_s") is not None]
    results["total_s"] = round(sum(measured), 1)
    results["complete"] = all(s.get("complete") for s in results["stages"])
    results["met"] = results["complete"] and results["total_s"] <= TARGET_S
    results["markdown"] = report.markdown(results)
    for path in options.reference or []:  # a smaller county run to the end, kept beside this one
        reference = json.loads(path.read_text())
        results.setdefault("reference_runs", []).append(
            {
                k: reference.get(k)
                for k in (
                    "started",
                    "options",
                    "machine",
                    "baselines",
                    "stages",
                    "total_s",
                    "complete",
                    "met",
                    "target_s",
                    "markdown",
                    "life_events_path",
                )
            }
        )
    report.write_json(results, options.results)
    report.plot(results, options.plot)
    report.print_results(results)
    console.print(f"results: {options.results}; plot: {options.plot}")


if __name__ == "__main__":
    main()
