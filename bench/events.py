"""Benchmark of the event backbone: outbox → JetStream → inbox, beside raw JetStream publishing.

Run with `make bench` (or `uv run python bench/events.py`). It starts its own embedded PostgreSQL
(durable settings: fsync and synchronous_commit on) and an embedded NATS with JetStream on free
loopback ports, in a temporary folder, and removes everything when it ends.

Process layout (2-core machine): this process orchestrates and runs the raw JetStream baseline;
per scenario it spawns
  * a producer process: the writer (UnitOfWork commits: one `notes` row + events into the outbox)
    and the kit's OutboxRelay (LISTEN/NOTIFY, claim, publish with Nats-Msg-Id, delete), and
  * a consumer process: the kit's InboxConsumer (durable pull consumer, inbox + handler in one
    transaction per fetched batch, ack after commit) running kitapp's `record_received` handler
    against a second database.

Scenarios
  baseline    raw nats-py JetStream publishing of the same payloads (same stream settings):
              sequential js.publish (per-publish latency), relay-style gather() of js.publish in
              windows of 500, and js.publish_async.
  throughput  N events written as fast as possible in transactions of B events + one state row;
              end-to-end rate = N / (last handler commit − first writer transaction start).
  latency     one event per transaction, open-loop at a fixed rate; per event
              latency = handler commit time − event creation time (the envelope's `time`).

Results are printed as rich tables and written to bench/results/events.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import math
import multiprocessing as mp
import os
import platform
import queue as queue_mod
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared" / "tests"))  # kitapp: the kit's tiny test service

import asyncpg  # noqa: E402
import nats  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy import event as sa_event  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from carekit.db.engine import Database, asyncpg_dsn  # noqa: E402
from carekit.db.migrations import upgrade_to_head  # noqa: E402
from carekit.db.uow import UnitOfWork, outbox_channel  # noqa: E402
from carekit.devstack.databases import create_database  # noqa: E402
from carekit.devstack.servers import EmbeddedNats, EmbeddedPostgres, nats_server_binary  # noqa: E402
from carekit.events.consumer import InboxConsumer  # noqa: E402
from carekit.events.envelope import EventEnvelope, new_event  # noqa: E402
from carekit.events.relay import OutboxRelay  # noqa: E402
from carekit.events.streams import StreamSpec, ensure_stream, service_stream  # noqa: E402

KITAPP = ROOT / "shared" / "tests" / "kitapp"
RESULTS = ROOT / "bench" / "results"
CONSUMER_SERVICE = "sink"
REGION = "360702001001"

TARGET_THROUGHPUT = 3000.0  # events/s end to end
TARGET_P99_MS = 50.0  # at 500 events/s
LOAD_AT_START = [round(x, 2) for x in os.getloadavg()]


# ----------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; NaN when empty."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))
    return s[k]


def summary_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {
        "n": len(ms),
        "p50_ms": round(pct(ms, 50), 3),
        "p90_ms": round(pct(ms, 90), 3),
        "p99_ms": round(pct(ms, 99), 3),
        "p999_ms": round(pct(ms, 99.9), 3),
        "max_ms": round(max(ms), 3) if ms else float("nan"),
        "mean_ms": round(sum(ms) / len(ms), 3) if ms else float("nan"),
    }


def make_event(service: str, note_id: uuid.UUID):  # noqa: ANN201
    return new_event(
        f"{service}.note.created",
        {"note_id": str(note_id), "region": REGION},
        source=f"/guanhuai/{service}",
        subject=str(note_id),
    )


INSERT_NOTE = text("INSERT INTO notes (id, region, body) VALUES (:id, :region, :body)")


async def connect_nats(url: str, name: str) -> nats.aio.client.Client:
    return await nats.connect(url, name=name, max_reconnect_attempts=-1, reconnect_time_wait=0.5)


def maybe_profile(path: str | None):  # noqa: ANN201
    if not path:
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def run():  # noqa: ANN202
        prof = cProfile.Profile()
        prof.enable()
        try:
            yield
        finally:
            prof.disable()
            prof.dump_stats(path)

    return run()


# ----------------------------------------------------------------------------------------------
# producer process: writer + OutboxRelay
# ----------------------------------------------------------------------------------------------
def producer_main(cfg: dict, results: mp.Queue, go: mp.Event, stop: mp.Event) -> None:
    asyncio.run(_producer(cfg, results, go, stop))


async def _producer(cfg: dict, results: mp.Queue, go: mp.Event, stop: mp.Event) -> None:
    service = cfg["service"]
    db = Database(cfg["db_url"])
    nc = await connect_nats(cfg["nats_url"], f"{service}-producer")
    js = nc.jetstream()
    relay_task = None
    if not cfg["relay_process"]:  # the relay shares the writer's loop, as in a service process by default
        relay = OutboxRelay(
            dsn=db.dsn, js=js, service_name=service, channel=outbox_channel(service), batch_size=cfg["relay_batch"]
        )
        relay_task = asyncio.create_task(relay.run(), name="relay")
    # warm the pool so the first timed transactions don't pay for connecting
    await asyncio.gather(*(db.ping() for _ in range(4)))
    await asyncio.sleep(0.3)  # relay connected and listening
    results.put(("producer-ready", {}))
    await asyncio.to_thread(go.wait)
    try:
        with maybe_profile(cfg.get("profile")):
            if cfg["mode"] == "throughput":
                out = await _write_throughput(db, service, cfg)
            else:
                out = await _write_paced(db, service, cfg)
        # wait until the relay has emptied the outbox
        conn = await asyncpg.connect(db.dsn)
        try:
            deadline = time.time() + cfg["deadline_s"]
            while time.time() < deadline:
                if await conn.fetchval("SELECT count(*) FROM outbox") == 0:
                    break
                await asyncio.sleep(0.02)
            out["outbox_drained_at"] = time.time()
            out["outbox_left"] = await conn.fetchval("SELECT count(*) FROM outbox")
        finally:
            await conn.close()
        results.put(("producer", out))
        await asyncio.to_thread(stop.wait)
    finally:
        if relay_task is not None:
            relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await relay_task
        await nc.close()
        await db.dispose()


async def _write_throughput(db: Database, service: str, cfg: dict) -> dict:
    n, batch, writers = cfg["events"], cfg["batch"], cfg["writers"]
    per_writer = [n // writers + (1 if i < n % writers else 0) for i in range(writers)]
    tx_times: list[float] = []

    async def writer(count: int) -> None:
        left = count
        while left > 0:
            k = min(batch, left)
            t0 = time.perf_counter()
            async with UnitOfWork(db, service) as uow:
                note_id = uuid.uuid4()
                await uow.session.execute(INSERT_NOTE, {"id": note_id, "region": REGION, "body": "bench"})
                for _ in range(k):
                    uow.emit(make_event(service, note_id))
                await uow.commit()
            tx_times.append(time.perf_counter() - t0)
            left -= k

    start = time.time()
    await asyncio.gather(*(writer(c) for c in per_writer))
    end = time.time()
    return {
        "write_start": start,
        "write_end": end,
        "events": n,
        "transactions": len(tx_times),
        "tx_latency": summary_ms(tx_times),
    }


async def _write_paced(db: Database, service: str, cfg: dict) -> dict:
    """Open loop: event i is due at start + i/rate whatever happened to earlier ones, and its creation
    time is that due time, so a producer that falls behind shows up in the latency (no coordinated
    omission)."""
    rate, seconds, warmup = cfg["rate"], cfg["seconds"], cfg["warmup_s"]
    total = int(rate * (seconds + warmup))
    n_warm = int(rate * warmup)
    commits: dict[str, tuple[float, float]] = {}  # event id -> (created, producer committed)
    warm_ids: list[str] = []
    lags: list[float] = []
    failures = 0

    async def one(ev: EventEnvelope, note_id: uuid.UUID) -> None:
        nonlocal failures
        try:
            async with UnitOfWork(db, service) as uow:
                await uow.session.execute(INSERT_NOTE, {"id": note_id, "region": REGION, "body": "bench"})
                uow.emit(ev)
                await uow.commit()
        except Exception:  # noqa: BLE001 - counted and reported
            failures += 1
            return
        commits[str(ev.id)] = (ev.time.timestamp(), time.time())

    tasks: set[asyncio.Task] = set()
    t0 = time.perf_counter() + 0.05
    wall0 = time.time() + 0.05
    for i in range(total):
        target = t0 + i / rate
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lags.append(max(0.0, time.perf_counter() - target))
        note_id = uuid.uuid4()
        ev = replace(make_event(service, note_id), time=datetime.fromtimestamp(wall0 + i / rate, UTC))
        if i < n_warm:
            warm_ids.append(str(ev.id))
        task = asyncio.create_task(one(ev, note_id))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    end_schedule = time.time()
    if tasks:
        await asyncio.gather(*list(tasks))
    return {
        "write_start": wall0,
        "schedule_end": end_schedule,
        "write_end": time.time(),
        "events": total,
        "warmup_events": n_warm,
        "warm_ids": warm_ids,
        "commits": commits,
        "failures": failures,
        "schedule_lag": summary_ms(lags),
    }


# ----------------------------------------------------------------------------------------------
# relay process (--relay-process): the kit's OutboxRelay alone, as `run_relay` runs it for a service
# ----------------------------------------------------------------------------------------------
def relay_main(cfg: dict, results: mp.Queue, stop: mp.Event) -> None:
    asyncio.run(_relay(cfg, results, stop))


async def _relay(cfg: dict, results: mp.Queue, stop: mp.Event) -> None:
    service = cfg["service"]
    nc = await connect_nats(cfg["nats_url"], f"{service}-relay")
    relay = OutboxRelay(
        dsn=asyncpg_dsn(cfg["db_url"]),
        js=nc.jetstream(),
        service_name=service,
        channel=outbox_channel(service),
        batch_size=cfg["relay_batch"],
    )
    task = asyncio.create_task(relay.run(), name="relay")
    await asyncio.sleep(0.3)  # connected and listening
    results.put(("relay-ready", {}))
    try:
        await asyncio.to_thread(stop.wait)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await nc.close()


# ----------------------------------------------------------------------------------------------
# consumer process: InboxConsumer with kitapp's handler, instrumented at commit
# ----------------------------------------------------------------------------------------------
class Recorder:
    def __init__(self, detail: bool) -> None:
        self.detail = detail
        self.handled = 0
        self.first_commit: float | None = None
        self.last_commit: float | None = None
        self.created: list[float] = []
        self.committed: list[float] = []
        self.ids: list[str] = []
        self.fetched_at: dict[str, float] = {}
        self.stored_at: dict[str, float] = {}
        self.batch_sizes: list[int] = []
        self.done = asyncio.Event()
        self.expected = 0


RECORDER: Recorder | None = None


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop("bench_events", None)
    if not pending or RECORDER is None:
        return
    now = time.time()
    rec = RECORDER
    rec.handled += len(pending)
    rec.first_commit = rec.first_commit or now
    rec.last_commit = now
    for ev in pending:
        rec.created.append(ev.time.timestamp())
        rec.committed.append(now)
        if rec.detail:
            rec.ids.append(str(ev.id))
    if rec.handled >= rec.expected:
        rec.done.set()


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("bench_events", None)


class BenchConsumer(InboxConsumer):
    """The kit's consumer, unchanged, plus a note of when each message was fetched (detail mode)."""

    async def handle_batch(self, msgs) -> None:  # noqa: ANN001
        rec = RECORDER
        if rec is not None:
            rec.batch_sizes.append(len(msgs))
            if rec.detail:
                now = time.time()
                for m in msgs:
                    mid = (m.headers or {}).get("Nats-Msg-Id")
                    if mid:
                        rec.fetched_at[mid] = now
                        rec.stored_at[mid] = m.metadata.timestamp.timestamp()
        await super().handle_batch(msgs)


def consumer_main(cfg: dict, results: mp.Queue, stop: mp.Event) -> None:
    asyncio.run(_consumer(cfg, results, stop))


async def _consumer(cfg: dict, results: mp.Queue, stop: mp.Event) -> None:
    from kitapp.app import notes_subscription, record_received, record_received_batch

    from carekit.events.consumer import Subscription

    global RECORDER
    rec = RECORDER = Recorder(detail=cfg["detail"])
    rec.expected = cfg["expected"]

    real = cfg["handler"] == "record_received"

    async def handler(uow: UnitOfWork, ev) -> None:  # noqa: ANN001
        if real:
            await record_received(uow, ev)  # kitapp's handler: one INSERT into `received` per event
        uow.session.sync_session.info.setdefault("bench_events", []).append(ev)

    async def batch_handler(uow: UnitOfWork, events: list) -> None:
        await record_received_batch(uow, events)  # kitapp's batch handler: one INSERT … unnest per batch
        uow.session.sync_session.info.setdefault("bench_events", []).extend(events)

    if cfg["handler"] == "batch":
        producer = cfg["producer_service"]
        sub = Subscription(
            name="notes", stream=producer.upper(), batch_handlers={f"{producer}.note.created": batch_handler}
        )
    else:
        sub = notes_subscription(cfg["producer_service"], handler=handler)
    db = Database(cfg["db_url"])
    nc = await connect_nats(cfg["nats_url"], f"{CONSUMER_SERVICE}-consumer")
    js = nc.jetstream()
    consumer = BenchConsumer(
        db=db, js=js, service_name=CONSUMER_SERVICE, subscription=sub, batch_size=cfg["consumer_batch"]
    )
    await consumer.ensure_consumer()
    await db.ping()
    task = asyncio.create_task(consumer.run(), name="consumer")
    results.put(("consumer-ready", {}))
    try:
        with maybe_profile(cfg.get("profile")), contextlib.suppress(TimeoutError):
            await asyncio.wait_for(rec.done.wait(), timeout=cfg["deadline_s"])
        async with db.engine.connect() as conn:
            received = (await conn.execute(text("SELECT count(*) FROM received"))).scalar_one()
            inboxed = (await conn.execute(text("SELECT count(*) FROM inbox"))).scalar_one()
        out: dict[str, Any] = {
            "handled": rec.handled,
            "first_commit": rec.first_commit,
            "last_commit": rec.last_commit,
            "received_rows": received,
            "inbox_rows": inboxed,
            "batches": len(rec.batch_sizes),
            "mean_batch": (sum(rec.batch_sizes) / len(rec.batch_sizes)) if rec.batch_sizes else 0,
            "latency": [c - e for c, e in zip(rec.committed, rec.created, strict=True)],
        }
        if rec.detail:
            out["per_event"] = {
                i: (e, rec.stored_at.get(i), rec.fetched_at.get(i), c)
                for i, e, c in zip(rec.ids, rec.created, rec.committed, strict=True)
            }
        results.put(("consumer", out))
        await asyncio.to_thread(stop.wait)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        await nc.close()
        await db.dispose()


# ----------------------------------------------------------------------------------------------
# orchestration
# ----------------------------------------------------------------------------------------------
class CpuMeter:
    """CPU seconds used by each party (PostgreSQL, nats-server, producer, consumer) over a window."""

    def __init__(self, pg_data: Path, nats_pid: int, procs: dict[str, int]) -> None:
        self.pg_data = pg_data
        self.nats_pid = nats_pid
        self.procs = procs
        self.start: dict[str, dict[int, float]] = {}
        self.busy0 = 0.0
        self.t0 = 0.0

    def _pg_pids(self) -> list[int]:
        try:
            pid = int((self.pg_data / "postmaster.pid").read_text().split()[0])
            parent = psutil.Process(pid)
            return [pid] + [c.pid for c in parent.children(recursive=True)]
        except (OSError, psutil.Error, ValueError, IndexError):
            return []

    def _sample(self) -> dict[str, dict[int, float]]:
        groups = {"postgres": self._pg_pids(), "nats-server": [self.nats_pid]}
        groups.update({k: [v] for k, v in self.procs.items()})
        out: dict[str, dict[int, float]] = {}
        for name, pids in groups.items():
            out[name] = {}
            for pid in pids:
                with contextlib.suppress(psutil.Error):
                    t = psutil.Process(pid).cpu_times()
                    out[name][pid] = t.user + t.system
        return out

    @staticmethod
    def _machine_busy() -> float:
        t = psutil.cpu_times()  # guest time is already inside user; steal is the hypervisor's
        return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)

    def begin(self) -> None:
        self.start = self._sample()
        self.busy0 = self._machine_busy()
        self.t0 = time.perf_counter()

    def end(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.t0
        now = self._sample()
        busy = self._machine_busy() - self.busy0
        used = {
            name: round(sum(v - self.start.get(name, {}).get(pid, 0.0) for pid, v in pids.items()), 2)
            for name, pids in now.items()
        }
        # whatever else ran on the machine meanwhile (another test run, the orchestrator, the kernel)
        used["other"] = round(max(0.0, busy - sum(used.values())), 2)
        return {"wall_s": round(wall, 2), "cpu_s": used, "cores_busy": round(busy / wall, 2)}


def busy_cores(seconds: float = 1.0) -> float:
    """How many cores the whole machine kept busy over the next `seconds`."""
    a = CpuMeter._machine_busy()  # noqa: SLF001
    time.sleep(seconds)
    return (CpuMeter._machine_busy() - a) / seconds  # noqa: SLF001


async def wait_until_quiet(args: argparse.Namespace) -> float:
    """The machine may be shared (a test run next door): wait up to --wait-quiet s for it to calm down."""
    busy = await asyncio.to_thread(busy_cores)
    deadline = time.time() + args.wait_quiet
    warned = False
    while busy > args.quiet_cores and time.time() < deadline:
        if not warned:
            print(
                f"  … machine busy ({busy:.2f} cores used by others); waiting up to {args.wait_quiet:.0f} s", flush=True
            )
            warned = True
        await asyncio.sleep(2)
        busy = await asyncio.to_thread(busy_cores)
    return round(busy, 2)


async def new_database(pg: EmbeddedPostgres, name: str) -> str:
    await create_database(pg.admin_url, name)
    url = pg.url(name)
    await asyncio.to_thread(upgrade_to_head, KITAPP, url)
    return url


def drain_queue(q: mp.Queue, want: set[str], deadline: float, procs: list[mp.Process]) -> dict[str, dict]:
    got: dict[str, dict] = {}
    while want - set(got) and time.time() < deadline:
        try:
            kind, payload = q.get(timeout=0.2)
        except queue_mod.Empty:
            if any(p.exitcode not in (None, 0) for p in procs):
                raise RuntimeError(f"a bench process died: {[(p.name, p.exitcode) for p in procs]}") from None
            continue
        got[kind] = payload
    return got


async def run_scenario(
    spec: dict[str, Any],
    pg: EmbeddedPostgres,
    nats_srv: EmbeddedNats,
    args: argparse.Namespace,
    profile_dir: Path | None,
) -> dict[str, Any]:
    """One scenario on fresh databases and a fresh stream: spawn consumer, then producer; collect."""
    service = spec["service"]  # its own stream, producer database and consumer database
    prod_url = await new_database(pg, f"{service}_producer")
    cons_url = await new_database(pg, f"{service}_consumer")
    nc = await connect_nats(nats_srv.url, "bench-admin")
    await ensure_stream(nc.jetstream(), service_stream(service))
    await nc.close()

    if spec["kind"] == "throughput":
        expected = spec["events"]
        pcfg = {"mode": "throughput", "events": spec["events"], "batch": args.batch, "writers": args.writers}
        deadline_s = args.deadline
    else:
        expected = int(spec["rate"] * (spec["seconds"] + args.warmup))
        pcfg = {"mode": "latency", "rate": spec["rate"], "seconds": spec["seconds"], "warmup_s": args.warmup}
        deadline_s = spec["seconds"] + args.warmup + 60
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    stop = ctx.Event()
    go = ctx.Event()

    def prof(who: str) -> str | None:
        return str(profile_dir / f"{service}-{who}.prof") if profile_dir else None

    ccfg = {
        "db_url": cons_url,
        "nats_url": nats_srv.url,
        "producer_service": service,
        "expected": expected,
        "detail": spec["kind"] == "latency",
        "handler": spec["handler"],
        "consumer_batch": args.consumer_batch,
        "deadline_s": deadline_s,
        "profile": prof("consumer"),
    }
    pcfg.update(
        {
            "service": service,
            "db_url": prod_url,
            "nats_url": nats_srv.url,
            "relay_batch": args.relay_batch,
            "deadline_s": deadline_s,
            "profile": prof("producer"),
            "relay_process": args.relay_process,
        }
    )
    busy_before = await wait_until_quiet(args)
    consumer = ctx.Process(target=consumer_main, args=(ccfg, q, stop), name="consumer", daemon=True)
    producer = ctx.Process(target=producer_main, args=(pcfg, q, go, stop), name="producer", daemon=True)
    procs = [consumer, producer]
    relay = None
    if args.relay_process:
        relay = ctx.Process(target=relay_main, args=(pcfg, q, stop), name="relay", daemon=True)
        procs.append(relay)
    try:
        consumer.start()
        drain_queue(q, {"consumer-ready"}, time.time() + 60, procs)
        if relay is not None:
            relay.start()
            drain_queue(q, {"relay-ready"}, time.time() + 60, procs)
        producer.start()
        drain_queue(q, {"producer-ready"}, time.time() + 60, procs)
        parties = {"producer": producer.pid, "consumer": consumer.pid}
        if relay is not None:
            parties["relay"] = relay.pid
        meter = CpuMeter(pg.data_dir, nats_srv._process.pid, parties)  # noqa: SLF001
        meter.begin()
        go.set()
        got = await asyncio.to_thread(drain_queue, q, {"producer", "consumer"}, time.time() + deadline_s + 30, procs)
        cpu = meter.end()
    finally:
        stop.set()
        for proc in procs:
            proc.join(timeout=20)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
    prod, cons = got.get("producer"), got.get("consumer")
    if prod is None or cons is None:
        raise RuntimeError(f"{service}: no result from {'producer' if prod is None else 'consumer'}")
    res = analyse(spec, prod, cons, cpu, expected)
    res["scenario"] = {k: v for k, v in spec.items() if k != "service"}
    res["machine_busy_before_cores"] = busy_before
    other = cpu["cpu_s"]["other"] / cpu["wall_s"]
    res["shared_machine_warning"] = other > args.quiet_cores
    if res["shared_machine_warning"]:
        print(f"  ! other processes used {other:.2f} cores during this run: figures are disturbed", flush=True)
    return res


def analyse(spec: dict[str, Any], prod: dict, cons: dict, cpu: dict, expected: int) -> dict[str, Any]:
    real = spec["handler"] in ("record_received", "batch")
    complete = (
        cons["handled"] == expected
        and cons["inbox_rows"] == expected
        and (cons["received_rows"] == expected if real else True)
        and prod["outbox_left"] == 0
    )
    res: dict[str, Any] = {
        "expected": expected,
        "handled": cons["handled"],
        "complete": complete,
        "received_rows": cons["received_rows"],
        "inbox_rows": cons["inbox_rows"],
        "outbox_left": prod["outbox_left"],
        "consumer_fetches": cons["batches"],
        "consumer_mean_batch": round(cons["mean_batch"], 1),
        "cpu": cpu,
    }
    start = prod["write_start"]
    if spec["kind"] == "throughput":
        end = cons["last_commit"] or time.time()
        res.update(
            {
                "events": prod["events"],
                "transactions": prod["transactions"],
                "writer_seconds": round(prod["write_end"] - start, 3),
                "writer_events_per_s": round(prod["events"] / (prod["write_end"] - start), 1),
                "outbox_drained_seconds": round(prod["outbox_drained_at"] - start, 3),
                "relay_events_per_s": round(prod["events"] / (prod["outbox_drained_at"] - start), 1),
                "end_to_end_seconds": round(end - start, 3),
                "end_to_end_events_per_s": round(cons["handled"] / (end - start), 1),
                "writer_tx_latency": prod["tx_latency"],
                "event_latency_under_load": summary_ms(cons["latency"]),
            }
        )
        return res
    warm = set(prod["warm_ids"])
    commits = prod["commits"]
    lat, p_commit, relay, deliver, handle = [], [], [], [], []
    for eid, (created, stored, fetched, handled) in cons["per_event"].items():
        if eid in warm:
            continue
        lat.append(handled - created)
        pc = commits.get(eid, (None, None))[1]
        if pc is not None:
            p_commit.append(pc - created)
            if stored is not None:
                relay.append(max(0.0, stored - pc))
        if stored is not None and fetched is not None:
            deliver.append(max(0.0, fetched - stored))
        if fetched is not None:
            handle.append(handled - fetched)
    span = prod["schedule_end"] - start
    res.update(
        {
            "rate": spec["rate"],
            "events_measured": prod["events"] - prod["warmup_events"],
            "events_warmup": prod["warmup_events"],
            "offered_rate": round(prod["events"] / span, 1),
            "producer_failures": prod["failures"],
            "generator_lag": prod["schedule_lag"],
            "producer_finished_after_s": round(prod["write_end"] - start, 2),
            "consumer_finished_after_s": round((cons["last_commit"] or time.time()) - start, 2),
            "latency": summary_ms(lat),
            "stages": {
                "due → producer commit (UnitOfWork)": summary_ms(p_commit),
                "producer commit → stored in JetStream (relay)": summary_ms(relay),
                "stored → fetched by consumer": summary_ms(deliver),
                "fetched → inbox tx committed": summary_ms(handle),
            },
        }
    )
    return res


# ----------------------------------------------------------------------------------------------
# raw JetStream baseline (in this process)
# ----------------------------------------------------------------------------------------------
async def baseline(nats_url: str, args: argparse.Namespace) -> dict[str, Any]:
    service = "base"
    sample = [make_event(service, uuid.uuid4()).to_json() for _ in range(16)]
    nc = await connect_nats(nats_url, "bench-baseline")
    js = nc.jetstream()
    await ensure_stream(js, StreamSpec(name="BASE", subjects=["base.>"]))
    subject = f"{service}.note.created"
    # same payload sizes as the kit's events (the envelope's JSON), distinct bytes and ids
    payloads = [make_event(service, uuid.uuid4()).to_json() for _ in range(max(args.baseline_events, 2000))]
    out: dict[str, Any] = {"payload_bytes": round(sum(len(p) for p in sample) / len(sample), 1)}

    def hdr() -> dict[str, str]:
        return {"Nats-Msg-Id": str(uuid.uuid4())}

    # warm up
    for p in payloads[:200]:
        await js.publish(subject, p, headers=hdr())

    # 1) sequential publish, one at a time: per-publish latency
    n_seq = args.baseline_seq
    lat: list[float] = []
    t0 = time.perf_counter()
    for p in payloads[:n_seq]:
        s = time.perf_counter()
        await js.publish(subject, p, headers=hdr())
        lat.append(time.perf_counter() - s)
    dt = time.perf_counter() - t0
    out["sequential_publish"] = {"events": n_seq, "events_per_s": round(n_seq / dt, 1), **summary_ms(lat)}

    # 2) relay style: gather() of js.publish in windows of relay_batch
    n = args.baseline_events
    t0 = time.perf_counter()
    for i in range(0, n, args.relay_batch):
        chunk = payloads[i : i + args.relay_batch]
        await asyncio.gather(*(js.publish(subject, p, headers=hdr()) for p in chunk))
    dt = time.perf_counter() - t0
    out["gather_publish"] = {"events": n, "window": args.relay_batch, "events_per_s": round(n / dt, 1)}

    # 3) publish_async (pipelined, acks collected by futures)
    t0 = time.perf_counter()
    futures = [await js.publish_async(subject, p, headers=hdr()) for p in payloads[:n]]
    await asyncio.gather(*futures)
    dt = time.perf_counter() - t0
    out["publish_async"] = {"events": n, "events_per_s": round(n / dt, 1)}

    # 4) paced publish at the latency scenario's rate: per-publish latency under the same load shape
    rate = args.rate
    n_paced = int(rate * min(4.0, args.seconds))
    lat = []
    t0 = time.perf_counter() + 0.01

    async def one(p: bytes) -> None:
        s = time.perf_counter()
        await js.publish(subject, p, headers=hdr())
        lat.append(time.perf_counter() - s)

    tasks = []
    for i in range(n_paced):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(payloads[i])))
    await asyncio.gather(*tasks)
    out["paced_publish"] = {"rate": rate, **summary_ms(lat)}
    await nc.close()
    return out


# ----------------------------------------------------------------------------------------------
# machine facts and reporting
# ----------------------------------------------------------------------------------------------
def server_version(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()


def machine_facts(pg_version: str, nats_version: str, tmp: Path) -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_gib = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    fs = "unknown"
    with contextlib.suppress(Exception):
        fs = next(
            (
                p.fstype
                for p in sorted(psutil.disk_partitions(all=True), key=lambda p: -len(p.mountpoint))
                if str(tmp).startswith(p.mountpoint)
            ),
            "unknown",
        )

    def ver(dist: str) -> str:
        from importlib.metadata import version

        try:
            return version(dist)
        except Exception:  # noqa: BLE001
            return "?"

    return {
        "nproc": nproc,
        "cpu_model": model,
        "ram_gib": mem_gib,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": pg_version,
        "nats_server": nats_version,
        "nats_py": ver("nats-py"),
        "asyncpg": ver("asyncpg"),
        "sqlalchemy": ver("sqlalchemy"),
        "data_dir_fs": fs,
        "load_avg_at_start": LOAD_AT_START,
    }


def print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=130)
    facts = Table(title="Machine", show_header=False)
    for k, v in report["machine"].items():
        facts.add_row(k, str(v))
    con.print(facts)

    b = report["baseline"]
    t = Table(title=f"Raw JetStream publish, nats-py (payload ≈ {b['payload_bytes']:.0f} B, Nats-Msg-Id set)")
    for col in ("mode", "events/s", "p50 ms", "p99 ms"):
        t.add_column(col, justify="left" if col == "mode" else "right")
    s = b["sequential_publish"]
    t.add_row("js.publish, one at a time", f"{s['events_per_s']:,.0f}", f"{s['p50_ms']:.2f}", f"{s['p99_ms']:.2f}")
    p = b["paced_publish"]
    t.add_row(f"js.publish, paced at {p['rate']:.0f}/s", "—", f"{p['p50_ms']:.2f}", f"{p['p99_ms']:.2f}")
    g = b["gather_publish"]
    t.add_row(
        f"gather(js.publish) in windows of {g['window']} (the relay's way)", f"{g['events_per_s']:,.0f}", "—", "—"
    )
    a = b["publish_async"]
    t.add_row("js.publish_async", f"{a['events_per_s']:,.0f}", "—", "—")
    con.print(t)

    for label, sc in report["scenarios"].items():
        t = Table(
            title=f"Outbox → JetStream → inbox — PostgreSQL {label} "
            f"(fsync={sc['postgres_settings'].get('fsync')}, "
            f"synchronous_commit={sc['postgres_settings'].get('synchronous_commit')})"
        )
        t.add_column("figure")
        t.add_column("value", justify="right")
        t.add_column("vs baseline / target", justify="right")
        for name, r in sc["runs"].items():
            cpu = r["cpu"]
            cpu_txt = ", ".join(f"{k} {v:.1f}" for k, v in cpu["cpu_s"].items())
            if r["scenario"]["kind"] == "throughput":
                verdict = ("MET" if r["meets_target"] else "MISSED") if "meets_target" in r else "—"
                tx = f"{r['transactions']} tx of {report['params']['batch']}"
                t.add_row(
                    f"[b]{name}[/b]: {r['events']:,} events, {tx}",
                    f"[b]{r['end_to_end_events_per_s']:,.0f} ev/s[/b]",
                    f"{r['ratio_to_publish_async']:.1%} of publish_async; ≥ {TARGET_THROUGHPUT:,.0f}: {verdict}",
                )
                t.add_row("  writer alone (UnitOfWork commits)", f"{r['writer_events_per_s']:,.0f} ev/s", "")
                t.add_row("  outbox drained by the relay", f"{r['relay_events_per_s']:,.0f} ev/s", "")
                t.add_row(
                    "  consumer fetches / mean batch", f"{r['consumer_fetches']} / {r['consumer_mean_batch']}", ""
                )
                t.add_row(
                    "  handled / inbox rows / received rows",
                    f"{r['handled']:,} / {r['inbox_rows']:,} / {r['received_rows']:,}",
                    "complete, no duplicates" if r["complete"] else "[red]INCOMPLETE[/red]",
                )
            else:
                lat = r["latency"]
                verdict = ("MET" if r["meets_target"] else "MISSED") if "meets_target" in r else "—"
                t.add_row(
                    f"[b]{name}[/b]: {r['offered_rate']:.0f} ev/s offered, {r['events_measured']:,} events",
                    f"[b]p50 {lat['p50_ms']:.1f} / p99 {lat['p99_ms']:.1f} ms[/b]",
                    f"{r['ratio_p99_to_publish']:.0f}× js.publish p99; p99 ≤ {TARGET_P99_MS:.0f} ms: {verdict}",
                )
                t.add_row(
                    "  p90 / p99.9 / max", f"{lat['p90_ms']:.1f} / {lat['p999_ms']:.1f} / {lat['max_ms']:.1f} ms", ""
                )
                for stage, st in r["stages"].items():
                    t.add_row(f"  {stage}", f"p50 {st['p50_ms']:.1f} / p99 {st['p99_ms']:.1f} ms", "")
                t.add_row(
                    "  consumer fetches / mean batch", f"{r['consumer_fetches']} / {r['consumer_mean_batch']}", ""
                )
                t.add_row(
                    "  handled / inbox rows",
                    f"{r['handled']:,} / {r['inbox_rows']:,}",
                    "complete, no duplicates" if r["complete"] else "[red]INCOMPLETE[/red]",
                )
            if r.get("shared_machine_warning"):
                t.add_row(
                    "  [yellow]machine shared during this run[/yellow]",
                    f"[yellow]other processes: {cpu['cpu_s']['other'] / cpu['wall_s']:.2f} cores[/yellow]",
                    "",
                )
            t.add_row(
                "  CPU seconds",
                cpu_txt,
                f"{cpu['cores_busy']:.2f} of {report['machine']['nproc']} cores busy over {cpu['wall_s']:.0f} s",
            )
        con.print(t)


def scenario_specs(args: argparse.Namespace, label: str) -> list[tuple[str, dict[str, Any]]]:
    specs: list[tuple[str, dict[str, Any]]] = []
    if "throughput" in args.only:
        if "record_received" in args.handlers:
            specs.append(("throughput", {"kind": "throughput", "events": args.events, "handler": "record_received"}))
        if "batch" in args.handlers:
            specs.append(
                ("throughput, batch handler", {"kind": "throughput", "events": args.events, "handler": "batch"})
            )
        if args.backbone_events and "noop" in args.handlers:
            specs.append(
                ("throughput, no-op handler", {"kind": "throughput", "events": args.backbone_events, "handler": "noop"})
            )
    if "latency" in args.only:
        if "record_received" in args.handlers:
            specs.append(
                (
                    f"latency at {args.rate:.0f}/s",
                    {"kind": "latency", "rate": args.rate, "seconds": args.seconds, "handler": "record_received"},
                )
            )
        if "batch" in args.handlers:
            specs.append(
                (
                    f"latency at {args.rate:.0f}/s, batch handler",
                    {"kind": "latency", "rate": args.rate, "seconds": args.seconds, "handler": "batch"},
                )
            )
        for rate in args.extra_rates:
            specs.append(
                (
                    f"latency at {rate:.0f}/s",
                    {"kind": "latency", "rate": rate, "seconds": args.extra_seconds, "handler": "record_received"},
                )
            )
    for i, (_, spec) in enumerate(specs):
        spec["service"] = f"{spec['kind'][:3]}{i}{label}"
    return specs


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="guanhuai-bench-"))
    os.chmod(tmp, 0o755)  # PostgreSQL runs as its own user when we are root
    servers: list[Any] = []
    started = time.time()
    try:
        nats_srv = EmbeddedNats(tmp / "nats").start()
        servers.append(nats_srv)
        report: dict[str, Any] = {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": "uv run python bench/events.py " + " ".join(sys.argv[1:]),
            "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "targets": {"end_to_end_events_per_s": TARGET_THROUGHPUT, "p99_ms_at_500_per_s": TARGET_P99_MS},
            "scenarios": {},
        }
        nats_version = server_version([nats_server_binary(), "--version"]).removeprefix("nats-server: ")
        print(f"· nats-server {nats_version} on {nats_srv.url}; raw JetStream baseline …", flush=True)
        report["baseline"] = base = await baseline(nats_srv.url, args)
        print(
            f"  → publish_async {base['publish_async']['events_per_s']:,.0f}/s, js.publish p50 "
            f"{base['sequential_publish']['p50_ms']:.2f} ms",
            flush=True,
        )
        pg_version = "?"
        variants = [("durable", False)] + ([("fast", True)] if args.also_fast else [])
        profile_dir = None
        if args.profile:
            profile_dir = RESULTS / "profile"
            profile_dir.mkdir(parents=True, exist_ok=True)
        for label, fast in variants:
            pg = EmbeddedPostgres(tmp / f"pg-{label}", fast=fast).start()
            servers.append(pg)
            conn = await asyncpg.connect(asyncpg_dsn(pg.admin_url))
            pg_version = await conn.fetchval("SHOW server_version")
            settings = {
                r["name"]: r["setting"]
                for r in await conn.fetch(
                    "SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[]) ORDER BY name",
                    ["fsync", "synchronous_commit", "full_page_writes", "wal_sync_method"],
                )
            }
            await conn.close()
            print(f"· PostgreSQL {pg_version}, {label} {settings}, port {pg.port}", flush=True)
            runs: dict[str, Any] = {}
            for name, spec in scenario_specs(args, label):
                print(f"· {label}: {name} …", flush=True)
                r = await run_scenario(spec, pg, nats_srv, args, profile_dir)
                if spec["kind"] == "throughput":
                    r["ratio_to_publish_async"] = r["end_to_end_events_per_s"] / base["publish_async"]["events_per_s"]
                    r["ratio_to_gather_publish"] = r["end_to_end_events_per_s"] / base["gather_publish"]["events_per_s"]
                    if spec["handler"] in ("record_received", "batch"):
                        r["meets_target"] = r["complete"] and r["end_to_end_events_per_s"] >= TARGET_THROUGHPUT
                    print(
                        f"  → {r['end_to_end_events_per_s']:,.0f} events/s end to end "
                        f"(writer {r['writer_events_per_s']:,.0f}/s, relay {r['relay_events_per_s']:,.0f}/s)",
                        flush=True,
                    )
                else:
                    bp = base["paced_publish"]
                    r["ratio_p50_to_publish"] = r["latency"]["p50_ms"] / bp["p50_ms"]
                    r["ratio_p99_to_publish"] = r["latency"]["p99_ms"] / bp["p99_ms"]
                    if spec["rate"] == 500:
                        r["meets_target"] = r["complete"] and r["latency"]["p99_ms"] <= TARGET_P99_MS
                    print(
                        f"  → p50 {r['latency']['p50_ms']:.1f} ms, p99 {r['latency']['p99_ms']:.1f} ms "
                        f"(offered {r['offered_rate']:.0f}/s)",
                        flush=True,
                    )
                runs[name] = r
            report["scenarios"][label] = {"postgres_settings": settings, "runs": runs}
            pg.stop()
            servers.remove(pg)
        report["machine"] = machine_facts(pg_version, nats_version, tmp)
        report["elapsed_s"] = round(time.time() - started, 1)
        return report
    finally:
        for srv in reversed(servers):
            with contextlib.suppress(Exception):
                srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=20_000, help="events in the throughput run")
    ap.add_argument(
        "--backbone-events",
        type=int,
        default=20_000,
        help="events in the throughput run with a no-op handler (0 to skip)",
    )
    ap.add_argument("--batch", type=int, default=100, help="events per writer transaction (throughput runs)")
    ap.add_argument("--writers", type=int, default=2, help="concurrent writer tasks (throughput runs)")
    ap.add_argument("--rate", type=float, default=500.0, help="offered events/s in the latency run")
    ap.add_argument("--seconds", type=float, default=15.0, help="measured seconds in the latency run")
    ap.add_argument(
        "--extra-rates", type=float, nargs="*", default=[200.0], help="further, shorter latency runs at these rates"
    )
    ap.add_argument("--extra-seconds", type=float, default=8.0)
    ap.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds (not measured) in latency runs")
    ap.add_argument("--relay-batch", type=int, default=500, help="OutboxRelay batch_size (kit default 500)")
    ap.add_argument("--consumer-batch", type=int, default=100, help="InboxConsumer batch_size (kit default 100)")
    ap.add_argument("--baseline-events", type=int, default=30_000)
    ap.add_argument("--baseline-seq", type=int, default=3_000)
    ap.add_argument("--deadline", type=float, default=120.0, help="give up on a throughput run after this")
    ap.add_argument(
        "--also-fast",
        action="store_true",
        help="repeat everything on PostgreSQL with fsync/synchronous_commit off (not a realistic figure)",
    )
    ap.add_argument("--only", nargs="+", default=["throughput", "latency"], choices=["throughput", "latency"])
    ap.add_argument(
        "--handlers",
        nargs="+",
        default=["record_received", "batch", "noop"],
        choices=["record_received", "batch", "noop"],
        help="which consumer handlers to run (noop: throughput only)",
    )
    ap.add_argument(
        "--relay-process",
        action="store_true",
        help="run the OutboxRelay in its own process (a service's `relay` process) instead of the "
        "producer's event loop",
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the producer and consumer processes into bench/results/profile/",
    )
    ap.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        help="before each run, wait up to this many seconds for other processes to go quiet",
    )
    ap.add_argument(
        "--quiet-cores",
        type=float,
        default=0.25,
        help="machine busy above this many cores (not counting the bench) counts as disturbed",
    )
    ap.add_argument("--json", type=Path, default=RESULTS / "events.json")
    args = ap.parse_args()
    report = asyncio.run(main_async(args))
    print_report(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    shown = args.json.relative_to(ROOT) if args.json.resolve().is_relative_to(ROOT) else args.json
    print(f"results written to {shown} (whole run {report['elapsed_s']} s)")


if __name__ == "__main__":
    main()
