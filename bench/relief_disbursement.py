"""Benchmark of scheduled disbursement: a 100,000-payment batch reserved, sent and settled against the
payment simulator, with the ledger's invariant check at the end.

Run with `uv run python bench/relief_disbursement.py` (options: --payments, --payees, --failure-rate,
--out FILE). Everything runs on loopback in a temporary folder removed at the end:
  * an embedded PostgreSQL (durable settings) and NATS with JetStream;
  * the REAL registry app (its own database, under uvicorn in a subprocess) holding --payees persons
    with bank cards; the lines' payees are drawn from them in turn, so the registry is asked about every
    payment's payee (each distinct payee once per chunk);
  * the payment simulator in a subprocess (batch callbacks of up to 2,000 statuses, --failure-rate);
  * the relief's sender prepares and submits --concurrency chunks of --chunk payments at once (each
    chunk's registry look-up in calls of ≤ 1,000 ids);
  * the relief app under uvicorn in this process (its sender, consumers, relay and callback route).

Timed phases, from the moment the first `entitlements.cycle.approved` chunk (1,000 lines each) is
published until:
  reserved  the batch exists with every payment reserved by pending transfers (consumer + one set-based
            reservation under one lock of the fund);
  settled   after the approval, every payment is succeeded or failed (registry look-ups, submits,
            callbacks posting or voiding the pending transfers);
and then the invariant check (debits = credits, every balance = replay of its transfers) and how long
the outbox took to hand every `relief.payment.*` event to JetStream. Target: reserved + sent + settled
≤ 30 s. The numbers depend on the machine; on a shared one, say so when quoting them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import httpx
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
COUNTY, VILLAGE = "360702", "360702001001"
MERCHANT, SECRET = "guanhuai-relief", "bench-callback-secret-0123456789"
TARGET_S = 30.0
RESULTS = Path(__file__).resolve().parent / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def serve(app, port: int):  # noqa: ANN001, ANN201
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)


def start_simulator(port: int, relief_port: int, failure_rate: float, log: Path) -> subprocess.Popen:
    env = os.environ | {
        "SIM_PAY_MERCHANT_ID": MERCHANT,
        "SIM_PAY_CALLBACK_SECRET": SECRET,
        "SIM_PAY_BATCH_CALLBACKS": "true",
        "SIM_PAY_CALLBACK_URL": f"http://127.0.0.1:{relief_port}/v1/provider-callbacks/simulator",
        "SIM_PAY_FAULTS__FAILURE_RATE": str(failure_rate),
        "SIM_PAY_FAULTS__SETTLE_DELAY_MS": "200",
        "SIM_PAY_FAULTS__CALLBACK_BATCH_MAX": "2000",
        "SIM_PAY_FAULTS__CALLBACK_CONCURRENCY": "4",
        "SIM_PAY_FAULTS__SEED": "5",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "simulators.payments.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def start_registry(port: int, database_url: str, nats_url: str, log: Path) -> subprocess.Popen:
    env = os.environ | {
        "REGISTRY_DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "REGISTRY_ENVIRONMENT": "test",
        "REGISTRY_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "registry.main:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """User + system CPU a process has used so far (Linux /proc; 0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if with_children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu(pg_dir: Path) -> float:
    """The postmaster, its ended children and its live backends."""
    try:
        postmaster = int((pg_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    total = cpu_seconds(postmaster, with_children=True)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                total += cpu_seconds(int(stat.parent.name))
    return total


def cpu_now(pg_dir: Path, sim: subprocess.Popen, registry: subprocess.Popen) -> dict[str, float]:
    return {
        "relief": time.process_time(),  # this process: the relief app (+ the bench's own light client work)
        "simulator": cpu_seconds(sim.pid),
        "registry": cpu_seconds(registry.pid),
        "postgres": postgres_cpu(pg_dir),
    }


async def wait_http(url: str, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def seed_payees(base: str, headers: dict, count: int) -> list[dict]:
    from stdnum import luhn
    from stdnum.cn import ric

    people = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        for n in range(count):
            household = await client.post(
                "/v1/households", json={"division_code": VILLAGE, "hukou_type": "rural", "address": f"某村{n}号"}
            )
            household.raise_for_status()
            body = f"{COUNTY}{date(1950 + n % 20, 1 + n % 12, 1 + n % 28):%Y%m%d}{n % 999 + 1:03d}"
            card = f"622202{n:012d}"
            person = await client.post(
                "/v1/persons",
                json={
                    "household_id": household.json()["id"],
                    "name": f"王{'建国秀英明华'[n % 6]}{n}",
                    "relation": "head",
                    "id_number": body + ric.calc_check_digit(body + "0"),
                    "bank_card": card + luhn.calc_check_digit(card),
                },
            )
            person.raise_for_status()
            people.append({"id": person.json()["id"], "household_id": household.json()["id"]})
    return people


async def publish_cycle(nats_url: str, people: list[dict], payments: int) -> str:
    import nats

    from carekit.events.envelope import new_event

    cycle_id = str(uuid.uuid4())
    chunks = (payments + 999) // 1000
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    with contextlib.suppress(Exception):
        await js.add_stream(name="ENTITLEMENTS", subjects=["entitlements.>"])
    for chunk in range(chunks):
        lines = []
        for i in range(chunk * 1000, min(payments, (chunk + 1) * 1000)):
            payee = people[i % len(people)]
            lines.append(
                {
                    "line_id": str(uuid.uuid4()),
                    "subject_kind": "household",
                    "subject_id": str(uuid.uuid4()),
                    "payee_person_id": payee["id"],
                    "household_id": payee["household_id"],
                    "region_code": VILLAGE,
                    "amount_fen": 96_000,
                }
            )
        event = new_event(
            "entitlements.cycle.approved",
            {
                "cycle_id": cycle_id,
                "policy_code": "rural_reward",
                "policy_version": 1,
                "period": "2026",
                "fund": "care_fund",
                "benefit_kind": "cash_yearly",
                "chunk": chunk + 1,
                "chunks": chunks,
                "total_lines": payments,
                "total_amount_fen": payments * 96_000,
                "approved_by": "entitlements-approver",
                "approved_at": "2026-11-24T08:00:00+08:00",
                "lines": lines,
            },
            source="/guanhuai/entitlements",
            subject=f"{cycle_id}/{chunk + 1}",
        )
        await js.publish(event.type, event.to_json(), headers={"Nats-Msg-Id": str(event.id)})
    await nc.close()
    return cycle_id


async def until(probe, timeout: float, every: float = 0.2):  # noqa: ANN001, ANN201, ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(every)
    raise RuntimeError(f"gave up after {timeout}s")


async def raw_copy_baseline(url: str, payments: int) -> dict:
    """The floor in the same run: COPY as many payment-shaped rows (ids, payee, household, region, amount,
    end-to-end id, status) into a bare table of the relief database, no index, nothing checked."""
    import asyncpg

    from carekit.db.engine import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("CREATE TABLE bench_raw_payments (id uuid, batch_id uuid, line_id uuid, payee uuid,"
                           " household uuid, region text, amount_fen bigint, end_to_end_id text, status text)")
        batch = uuid.uuid4()
        rows = [(uuid.uuid4(), batch, uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), VILLAGE, 96_000,
                 f"GH{i:030d}", "reserved") for i in range(payments)]
        started = time.perf_counter()
        await conn.copy_records_to_table("bench_raw_payments", records=rows)
        seconds = time.perf_counter() - started
        await conn.execute("DROP TABLE bench_raw_payments")
    finally:
        await conn.close()
    return {"rows": payments, "seconds": round(seconds, 3), "rows_per_s": round(payments / seconds)}


async def run(options: argparse.Namespace, tmp: Path, pg_admin: str, nats_url: str) -> dict:
    from carekit.db.migrations import upgrade_to_head
    from carekit.devstack.databases import create_database
    from carekit.testing.tokens import TokenFactory
    from registry.main import SERVICE_ROOT as REGISTRY_ROOT
    from relief.main import SERVICE_ROOT as RELIEF_ROOT
    from relief.main import create_app as create_relief
    from relief.settings import ReliefSettings

    base = pg_admin.rsplit("/", 1)[0]
    for name, root in (("registry", REGISTRY_ROOT), ("relief", RELIEF_ROOT)):
        await create_database(pg_admin, name)
        await asyncio.to_thread(upgrade_to_head, root, f"{base}/{name}")
    results: dict = {"baseline_raw_copy": await raw_copy_baseline(f"{base}/relief", options.payments)}
    tokens = TokenFactory()
    fm = tokens.headers(roles=["fund_manager"], region=COUNTY, sub="fund-manager-1")
    auditor = tokens.headers(roles=["auditor"], region=COUNTY, sub="auditor-1")
    registry_port, relief_port, sim_port = free_port(), free_port(), free_port()
    sim = start_simulator(sim_port, relief_port, options.failure_rate, tmp / "simulator.log")
    registry = start_registry(registry_port, f"{base}/registry", nats_url, tmp / "registry.log")
    sim_url, registry_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{registry_port}"
    try:
        await wait_http(f"{sim_url}/healthz")
        await wait_http(f"{registry_url}/healthz", timeout=60)
        relief = create_relief(
            ReliefSettings(
                database_url=f"{base}/relief",
                nats_url=nats_url,
                environment="test",
                log_level=os.environ.get("BENCH_RELIEF_LOG", "WARNING"),
                registry_url=f"http://127.0.0.1:{registry_port}",
                payment_provider_url=sim_url,
                payment_merchant_id=MERCHANT,
                payment_callback_secret=SECRET,
                payment_timeout_seconds=30,
                sender_poll_seconds=0.2,
                query_after_seconds=20,
                payment_submit_chunk=options.chunk,
                payment_send_concurrency=options.concurrency,
                consumer_batch_size=20,
            )
        )
        async with serve(relief, relief_port) as relief_url:
            started = time.monotonic()
            people = await seed_payees(
                registry_url, tokens.headers(roles=["caseworker"], region=COUNTY), options.payees
            )
            results["seed_payees_s"] = round(time.monotonic() - started, 2)
            async with httpx.AsyncClient(base_url=relief_url, timeout=120) as client:
                await client.post(
                    "/v1/funds",
                    headers=fm,
                    json={
                        "code": "care_fund",
                        "kind": "care_fund",
                        "name_zh": "生育关怀基金",
                        "name_en": "Care fund",
                        "region": COUNTY,
                    },
                )
                await client.post(
                    "/v1/funds/care_fund/allocations",
                    headers=fm,
                    json={"amount_fen": options.payments * 96_000, "document_no": "bench"},
                )
                t0, cpu0 = time.monotonic(), cpu_now(tmp / "pg", sim, registry)
                cycle_id = await publish_cycle(nats_url, people, options.payments)
                results["publish_s"] = round(time.monotonic() - t0, 2)

                async def batch_in(status: str):  # noqa: ANN202
                    # the batch row only: polling the API's per-status counts (an aggregate over all the
                    # batch's payments) 4-5 times a second would itself load the database under test
                    async with relief.state.runtime.uow() as uow:
                        row = (
                            await uow.session.execute(
                                text("SELECT id, status FROM batches WHERE cycle_id = :c"), {"c": uuid.UUID(cycle_id)}
                            )
                        ).first()
                    return row.id if row is not None and row.status == status else None

                batch_id = await until(lambda: batch_in("reserved"), 300)
                t_reserved = time.monotonic()
                results["reserved_s"] = round(t_reserved - t0, 2)
                approve = await client.post(f"/v1/batches/{batch_id}/approve", headers=fm)
                approve.raise_for_status()
                await until(lambda: batch_in("done"), 600, every=0.25)
                t_done, cpu1 = time.monotonic(), cpu_now(tmp / "pg", sim, registry)
                # CPU seconds each process used while timed: on a shared machine the wall time depends on
                # the others' load, these much less
                results["cpu_s"] = {k: round(cpu1[k] - cpu0[k], 1) for k in cpu0}
                results["sent_and_settled_s"] = round(t_done - t_reserved, 2)
                results["total_s"] = round(t_done - t0, 2)
                results["total_over_raw_copy"] = round(results["total_s"] / results["baseline_raw_copy"]["seconds"])
                final = (await client.get(f"/v1/batches/{batch_id}", headers=fm)).json()
                results["payments_by_status"] = final["payments_by_status"]
                t_check = time.monotonic()
                invariant = (await client.get("/v1/ledger/invariant", headers=auditor)).json()
                results["invariant_ok"] = invariant["ok"]
                results["invariant_check_s"] = round(time.monotonic() - t_check, 2)
                results["transfers"] = invariant["transfers"]

                async def outbox_empty():  # noqa: ANN202
                    async with relief.state.runtime.uow() as uow:
                        return (await uow.session.execute(text("SELECT count(*) FROM outbox"))).scalar_one() == 0

                await until(outbox_empty, 600)
                results["events_published_s"] = round(time.monotonic() - t0, 2)
        async with httpx.AsyncClient() as client:
            stats = (await client.get(f"{sim_url}/_sim/stats")).json()
        results["provider"] = {
            "payments": stats["payments"],
            "by_state": stats["by_state"],
            "callback_requests": stats["events"].get("callback_requests"),
        }
    finally:
        for process in (sim, registry):
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
    return results


def run_loop(coroutine):  # noqa: ANN001, ANN201
    """On uvloop when it is installed, as uvicorn (loop "auto") runs the services in production."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=100_000)
    parser.add_argument("--payees", type=int, default=200)
    parser.add_argument("--failure-rate", type=float, default=0.01)
    parser.add_argument("--chunk", type=int, default=2500, help="payments claimed, looked up and submitted at once")
    parser.add_argument("--concurrency", type=int, default=4, help="chunks prepared and sent at once")
    parser.add_argument("--out", type=Path, default=RESULTS / "relief_disbursement.json",
                        help="also write the results as JSON here")
    options = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-relief-"))
    os.environ["GUANHUAI_DATA_DIR"] = str(tmp / "data")  # dev keys of this run only
    from carekit.devstack.servers import EmbeddedNats, EmbeddedPostgres

    pg = nats_server = None
    try:
        pg = EmbeddedPostgres(tmp / "pg").start()
        nats_server = EmbeddedNats(tmp / "nats").start()
        load_before = os.getloadavg()
        results = run_loop(run(options, tmp, pg.admin_url, nats_server.url))
        results |= {
            "load_average": {
                "before": [round(x, 2) for x in load_before],
                "after": [round(x, 2) for x in os.getloadavg()],
            },
            "payments": options.payments,
            "target_s": TARGET_S,
            "met": results["total_s"] <= TARGET_S and results["invariant_ok"],
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        }
        print(json.dumps(results, indent=2, ensure_ascii=False))
        if options.out:
            options.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    finally:
        if nats_server:
            nats_server.stop()
        if pg:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
