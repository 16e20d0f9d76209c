"""The physical baselines, measured in the same run on the same servers: a raw COPY of the county's
rows into PostgreSQL, raw JetStream publishing, and HTTP round trips to a trivial FastAPI endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

BARE_APP = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/v1/ping/{item}")
async def ping(item: str) -> dict:
    return {"id": item, "ok": True}
"""


async def raw_copy(dsn: str, files: list[Path], columns: int) -> dict[str, Any]:
    """COPY every row of the import files into a plain table of text columns (no checks, no indexes)."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE TABLE raw_rows ({', '.join(f'c{i} text' for i in range(columns))})")
        rows, started = 0, time.perf_counter()
        for path in files:
            status = await conn.copy_to_table("raw_rows", source=str(path), format="csv", header=True)
            rows += int(status.split()[-1])
        seconds = time.perf_counter() - started
        await conn.execute("DROP TABLE raw_rows")
    finally:
        await conn.close()
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds)}


def _envelope(n: int) -> bytes:
    from carekit.events.envelope import new_event

    data = {
        "person_id": str(uuid.uuid4()),
        "household_id": str(uuid.uuid4()),
        "division_code": "360702001001",
        "sex": "female",
        "birth_date": "1970-01-01",
        "relation": "spouse",
        "n": n,
    }
    return new_event("bench.raw.person", data, source="/guanhuai/bench", subject=str(n)).to_json()


async def jetstream_publish(nats_url: str, count: int) -> dict[str, Any]:
    """nats-py publishing registry-sized envelopes to a file-stored stream with a duplicate window:
    pipelined (`publish_async`) and in gathered windows of 500 (as the kit's relay publishes)."""
    import nats
    from nats.js.api import StorageType, StreamConfig

    payloads = [_envelope(n) for n in range(count)]
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    out: dict[str, Any] = {"events": count, "payload_bytes": len(payloads[0])}
    try:
        for mode in ("publish_async", "gather_500"):
            await js.add_stream(
                StreamConfig(
                    name="BENCH_RAW", subjects=["bench.raw.>"], storage=StorageType.FILE, duplicate_window=120.0
                )
            )
            headers = [{"Nats-Msg-Id": str(uuid.uuid4())} for _ in payloads]
            started = time.perf_counter()
            if mode == "publish_async":
                futures = [
                    await js.publish_async("bench.raw.person", p, headers=h)
                    for p, h in zip(payloads, headers, strict=True)
                ]
                await asyncio.gather(*futures)
            else:
                for i in range(0, count, 500):
                    await asyncio.gather(
                        *(
                            js.publish("bench.raw.person", p, headers=h)
                            for p, h in zip(payloads[i : i + 500], headers[i : i + 500], strict=True)
                        )
                    )
            seconds = time.perf_counter() - started
            out[mode] = {"seconds": round(seconds, 3), "msgs_per_s": round(count / seconds)}
            await js.delete_stream("BENCH_RAW")
    finally:
        await nc.close()
    out["msgs_per_s"] = max(out["publish_async"]["msgs_per_s"], out["gather_500"]["msgs_per_s"])
    return out


async def _http_rates(base: str, sequential: int, seconds: float, concurrency: int) -> dict[str, Any]:
    """One request at a time (round trip), then `concurrency` keep-alive connections for `seconds`
    (requests/s), with the registry bench's minimal HTTP/1.1 client (httpx costs more client CPU than
    the endpoint itself)."""
    from bench.loadgen import RawHttp

    client = RawHttp(base, {})
    try:
        for i in range(50):  # warm
            await client.get(f"/v1/ping/{i}")
        latencies = []
        for i in range(sequential):
            started = time.perf_counter()
            await client.get(f"/v1/ping/{i}")
            latencies.append((time.perf_counter() - started) * 1000)
        done = 0
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                if await client.get(f"/v1/ping/{done}") != 200:
                    raise RuntimeError("the bare endpoint failed")
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        client.close()
    latencies.sort()
    return {
        "round_trip_p50_ms": round(statistics.median(latencies), 3),
        "round_trip_p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 3),
        "requests_per_s": round(done / elapsed),
        "concurrency": concurrency,
        "note": "keep-alive HTTP/1.1 client; one uvicorn worker serving a constant-body FastAPI route",
    }


def bare_http(
    root: Path, port: int, sequential: int = 500, seconds: float = 3.0, concurrency: int = 16
) -> dict[str, Any]:
    (root / "bare_app.py").write_text(BARE_APP)
    log = root / "logs" / "bare.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bare_app:app",
            "--app-dir",
            str(root),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/v1/ping/x", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        return asyncio.run(_http_rates(base, sequential, seconds, concurrency))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
