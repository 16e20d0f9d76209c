"""Benchmark of the notifications service: SMS through the whole pipeline, and partner webhooks.

Run with `uv run python bench/notifications.py` (options: --persons, --sms, --webhooks, --rate).
Everything runs on loopback in a temporary folder removed at the end: an embedded PostgreSQL and NATS,
the REAL registry (phones read through contract C1), the SMS gateway simulator and a partner receiver,
each in a uvicorn process of its own (as in production), and the notifications service in this process.

1. Setup: --persons households of one person with a mobile number are registered through the registry's
   API (not timed).
2. SMS: --sms `relief.payment.succeeded` events (payees spread over the persons, so no number reaches the
   per-template daily cap) are published on the RELIEF stream. Timed from the first publish until every
   message is `sent`: NATS → inbox consumer → messages table → sender (claim, batched registry call,
   rules, rendering) → Alibaba Cloud SendBatchSms (signed, 100 numbers a call) at the simulator.
   The sender's rate limit for the provider is --rate messages/s and the simulator refuses anything
   above the same rate (`aliyun_rate_limit`): its throttled count must stay 0 (the limit is honoured).
   The clock stands at noon in China so quiet hours never defer the run.
3. Webhooks: one partner subscription; --webhooks `relief.payment.held` events (no SMS template) are
   published; timed from the first publish until every delivery has `succeeded` at the receiver, which
   verifies every request with the `standardwebhooks` package.

Results: printed, and written to bench/results/notifications.json. Targets: ≥ 1,000 SMS/s and
≥ 500 webhook deliveries/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
# This file is named like the service's package: keep bench/ off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
RESULTS = ROOT / "bench" / "results"
TARGET_SMS = 1000.0
TARGET_WEBHOOKS = 500.0
COUNTY, VILLAGE = "360702", "360702001001"
LOAD_AT_START = [round(x, 2) for x in os.getloadavg()]


def resident_id(serial: int) -> str:
    from stdnum.cn import ric

    birth = date(1950, 1, 1) + timedelta(days=serial // 400)
    body = f"{COUNTY}{birth:%Y%m%d}{(serial % 400) * 2 + 1:03d}"
    return body + ric.calc_check_digit(body + "0")


def noon_in_china():  # noqa: ANN201
    now = datetime.now(UTC)
    local = (now + timedelta(hours=8)).replace(hour=12, minute=0, second=0, microsecond=0)
    offset = local - timedelta(hours=8) - now
    if offset < timedelta(0):  # never behind real time: events are stamped with it
        offset += timedelta(days=1)
    return lambda: datetime.now(UTC) + offset


async def register_persons(registry_url: str, tokens, count: int) -> list[str]:  # noqa: ANN001
    headers = tokens.headers(roles=["caseworker"], region=COUNTY, sub="bench")
    gate = asyncio.Semaphore(16)

    async def one(client: httpx.AsyncClient, i: int) -> str:
        async with gate:
            household = await client.post(
                "/v1/households", json={"division_code": VILLAGE, "hukou_type": "rural", "address": f"某村{i}号"}
            )
            household.raise_for_status()
            person = await client.post(
                "/v1/persons",
                json={
                    "household_id": household.json()["id"],
                    "name": f"测试{i}",
                    "relation": "head",
                    "id_number": resident_id(i),
                    "phone": f"139{i:08d}",
                },
            )
            person.raise_for_status()
            return person.json()["id"]

    async with httpx.AsyncClient(base_url=registry_url, headers=headers, timeout=30) as client:
        return list(await asyncio.gather(*(one(client, i) for i in range(count))))


async def publish_all(nats_url: str, events: list) -> float:  # noqa: ANN001
    import nats

    from carekit.events.streams import ensure_stream, service_stream

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, service_stream("relief"))
        started = time.perf_counter()
        for start in range(0, len(events), 500):
            await asyncio.gather(
                *(
                    js.publish(e.type, e.to_json(), headers={"Nats-Msg-Id": str(e.id)})
                    for e in events[start : start + 500]
                )
            )
        return started
    finally:
        await nc.close()


def payment(kind: str, payee: str) -> object:
    from carekit.events.envelope import new_event

    pid = str(uuid.uuid4())
    return new_event(
        kind,
        {
            "payment_id": pid,
            "end_to_end_id": pid[:30],
            "batch_id": None,
            "line_id": None,
            "policy_code": "rural_reward",
            "period": "2026",
            "payee_person_id": payee,
            "household_id": str(uuid.uuid4()),
            "region_code": VILLAGE,
            "amount_fen": 96000,
            "occurred_at": datetime.now(UTC).isoformat(),
        },
        source="/guanhuai/relief",
        subject=pid,
    )


async def wait_count(db, sql: str, target: int, limit_s: float) -> float:  # noqa: ANN001
    from sqlalchemy import text

    deadline = time.perf_counter() + limit_s
    shown = time.perf_counter()
    while time.perf_counter() < deadline:
        async with db.sessionmaker() as session:
            done = (await session.execute(text(sql))).scalar_one()
        if done >= target:
            return time.perf_counter()
        if time.perf_counter() - shown > 5:
            shown = time.perf_counter()
            print(f"  … {done} of {target}", flush=True)
        await asyncio.sleep(0.05)
    raise TimeoutError(f"only {done} of {target} after {limit_s}s: {sql}")


def receiver_app():  # noqa: ANN201 - `uvicorn --factory bench.notifications:receiver_app`, secret in BENCH_SECRET
    from standardwebhooks import Webhook

    webhook = Webhook(os.environ["BENCH_SECRET"])
    stats = {"verified": 0, "refused": 0}

    async def app(scope, receive, send) -> None:  # noqa: ANN001 - a bare ASGI partner endpoint
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] == "GET":  # the counts, for the benchmark
            payload = json.dumps(stats).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": payload})
            return
        try:
            webhook.verify(body, {k.decode(): v.decode() for k, v in scope["headers"]})
            stats["verified"] += 1
            status = 200
        except Exception:  # noqa: BLE001
            stats["refused"] += 1
            status = 400
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def serve(factory: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    from carekit.devstack.servers import wait_for_port

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=os.environ | env,
        cwd=ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, 60, process)
    return process


async def run(args: argparse.Namespace, work: Path) -> dict:
    os.environ["GUANHUAI_DATA_DIR"] = str(work / "data")
    from carekit.db.migrations import upgrade_to_head
    from carekit.devstack.databases import create_database
    from carekit.devstack.servers import EmbeddedNats, EmbeddedPostgres, free_port
    from carekit.testing.tokens import TokenFactory
    from notifications.main import SERVICE_ROOT as NOTIFICATIONS_ROOT
    from notifications.main import create_app as create_notifications
    from notifications.settings import NotificationsSettings
    from registry.main import SERVICE_ROOT as REGISTRY_ROOT
    from simulators.testing import running_simulator

    pg = EmbeddedPostgres(work / "pg", fast=True).start()
    nats_server = EmbeddedNats(work / "nats").start()
    processes: list[subprocess.Popen] = []
    try:
        urls = {}
        for name, root in (("registry", REGISTRY_ROOT), ("notifications", NOTIFICATIONS_ROOT)):
            await create_database(pg.admin_url, name)
            urls[name] = pg.url(name)
            await asyncio.to_thread(upgrade_to_head, root, urls[name])
        tokens = TokenFactory()
        ports = {name: free_port() for name in ("registry", "sms", "receiver")}
        processes.append(
            serve(
                "registry.main:create_app",
                ports["registry"],
                {
                    "REGISTRY_DATABASE_URL": urls["registry"],
                    "NATS_URL": nats_server.url,
                    "REGISTRY_ENVIRONMENT": "test",
                    "REGISTRY_LOG_LEVEL": "WARNING",
                },
                work / "registry.log",
            )
        )
        processes.append(
            serve(
                "simulators.sms.app:create_app",
                ports["sms"],
                {"SIM_SMS_FAULTS__ALIYUN_RATE_LIMIT": str(int(args.rate)), "SIM_SMS_FAULTS__RECEIPT_DELAY_MS": "50"},
                work / "sms.log",
            )
        )
        registry_url, sim_url = (f"http://127.0.0.1:{ports[n]}" for n in ("registry", "sms"))
        receiver_url = f"http://127.0.0.1:{ports['receiver']}"
        settings = NotificationsSettings(
            database_url=urls["notifications"],
            nats_url=nats_server.url,
            environment="test",
            log_level="WARNING",
            registry_url=registry_url,
            aliyun_url=sim_url + "/aliyun",
            tencent_url=sim_url + "/tencent",
            aliyun_batch_size=100,
            sms_rate_per_second={"aliyun": args.rate, "tencent": args.rate},
            sender_batch_size=1000,
            sender_poll_seconds=0.05,
            consumer_batch_size=500,
            webhook_poll_seconds=0.05,
            webhook_batch_size=500,
            webhook_concurrency=8,  # one local receiver answering in ~1 ms: few connections are plenty
            webhook_allowed_networks=["127.0.0.1/32"],
        )
        app = create_notifications(settings, clock=noon_in_china())
        async with (
            running_simulator(lambda: app) as notifications_url,
            httpx.AsyncClient(base_url=notifications_url) as api,
            httpx.AsyncClient(base_url=sim_url) as sim,
        ):
            await app.state.runtime.wait_until_running()
            receipts = {
                f"aliyun_{k}_url": f"{notifications_url}/v1/providers/aliyun/{k}" for k in ("receipts", "inbound")
            }
            (await sim.put("/_sim/urls", json=receipts)).raise_for_status()
            print(f"registering {args.persons} persons in the registry…", flush=True)
            persons = await register_persons(registry_url, tokens, args.persons)
            db = app.state.runtime.db

            print(f"SMS: {args.sms} events through the pipeline…", flush=True)
            events = [payment("relief.payment.succeeded", persons[i % len(persons)]) for i in range(args.sms)]
            started = await publish_all(nats_server.url, events)
            finished = await wait_count(
                db, "SELECT count(*) FROM messages WHERE state IN ('sent', 'delivered')", args.sms, 600
            )
            sms_seconds = finished - started
            sim_stats = (await sim.get("/_sim/stats")).json()
            states = await _states(db)

            print(f"webhooks: {args.webhooks} deliveries…", flush=True)
            sub = await api.post(
                "/v1/webhooks/subscriptions",
                json={"url": receiver_url + "/hook", "event_types": ["relief.payment.held"]},
                headers=tokens.headers(roles=["admin"], region=COUNTY),
            )
            sub.raise_for_status()
            processes.append(
                serve(
                    "bench.notifications:receiver_app",
                    ports["receiver"],
                    {"BENCH_SECRET": sub.json()["secret"]},
                    work / "receiver.log",
                )
            )
            events = [payment("relief.payment.held", persons[i % len(persons)]) for i in range(args.webhooks)]
            started = await publish_all(nats_server.url, events)
            finished = await wait_count(
                db, "SELECT count(*) FROM webhook_deliveries WHERE state = 'succeeded'", args.webhooks, 600
            )
            hook_seconds = finished - started
            attempts = await _attempts(db)
            received = (await api.get(receiver_url + "/")).json()
        return {
            "sms": {
                "messages": args.sms,
                "seconds": round(sms_seconds, 3),
                "per_second": round(args.sms / sms_seconds, 1),
                "target_per_second": TARGET_SMS,
                "rate_limit_per_second": args.rate,
                "simulator_throttled": sim_stats["events"].get("aliyun_throttled", 0),
                "simulator_accepted": sim_stats["events"].get("aliyun_accepted", 0),
                "states": states,
            },
            "webhooks": {
                "deliveries": args.webhooks,
                "seconds": round(hook_seconds, 3),
                "per_second": round(args.webhooks / hook_seconds, 1),
                "target_per_second": TARGET_WEBHOOKS,
                "verified_by_receiver": received["verified"],
                "refused_by_receiver": received["refused"],
                "attempts": attempts,
            },
            "persons": args.persons,
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_at_start": LOAD_AT_START},
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        nats_server.stop()
        pg.stop()


async def _states(db) -> dict:  # noqa: ANN001
    from sqlalchemy import text

    async with db.sessionmaker() as session:
        return dict((await session.execute(text("SELECT state, count(*) FROM messages GROUP BY state"))).all())


async def _attempts(db) -> dict:  # noqa: ANN001
    from sqlalchemy import text

    async with db.sessionmaker() as session:
        row = (
            await session.execute(
                text(
                    "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms),"
                    " percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) FROM webhook_attempts"
                )
            )
        ).one()
    return {"count": row[0], "p50_latency_ms": round(row[1], 2), "p99_latency_ms": round(row[2], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=1000)
    parser.add_argument("--sms", type=int, default=20000)
    parser.add_argument("--webhooks", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=2000.0, help="provider rate limit, messages/s")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-notifications-"))
    try:
        try:  # what uvicorn runs the service on in production (`--loop auto`)
            import uvloop

            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        except ImportError:
            pass
        result = asyncio.run(run(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "notifications.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    ok = result["sms"]["per_second"] >= TARGET_SMS and result["webhooks"]["per_second"] >= TARGET_WEBHOOKS
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
