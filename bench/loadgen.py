"""The benchmarks' open-loop load generator: a minimal HTTP/1.1 keep-alive client on asyncio streams and
a fixed-rate driver with no coordinated omission.

httpx costs more client CPU per request than the cheapest endpoints cost the server, and on a 2-core
machine the generator shares the cores with what it measures, so it must be lean."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class RawHttp:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams, for the load generator.

    Cheaper per request than httpx (the generator must not be the bottleneck on 2 cores), and a
    request that is given up on is given up on at once: its connection is closed, never reused."""

    def __init__(self, base: str, headers: dict[str, str], max_connections: int = 512) -> None:
        host_port = base.split("//", 1)[1]
        self.host, port = host_port.rsplit(":", 1)
        self.port = int(port)
        self.head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(max_connections)
        self.open: set[asyncio.StreamWriter] = set()

    async def get(self, path: str) -> int:
        async with self.slots:
            status = await self._get(path, reuse=True)
            if status is None:  # the server had closed that idle connection (keep-alive timeout): once more
                status = await self._get(path, reuse=False)
            if status is None:
                raise ConnectionError("the server closed the connection without answering")
            return status

    async def _get(self, path: str, *, reuse: bool) -> int | None:
        """None: a reused connection turned out closed by the server before it answered."""
        reused = reuse and bool(self.idle)
        if reused:
            reader, writer = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self.open.add(writer)
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.head}\r\n".encode())
            await writer.drain()
            status_line = await reader.readline()
            if not status_line and reused:
                raise ConnectionResetError
            status = int(status_line.split()[1])
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and "close" in value.lower():
                    close = True
            await reader.readexactly(length)
        except BaseException as exc:
            writer.close()
            self.open.discard(writer)
            if reused and isinstance(exc, ConnectionError):
                return None
            raise
        if close:
            writer.close()
            self.open.discard(writer)
        else:
            self.idle.append((reader, writer))
        return status

    def close(self) -> None:
        for writer in self.open:
            writer.close()


async def fixed_rate(base: str, paths: list[str], headers: dict[str, str], rate: float, seconds: float,
                     request_timeout: float = 5.0, warmup: float = 3.0) -> dict[str, Any]:
    """Open loop: request i is due at t0 + i/rate; its latency counts from then (no coordinated omission).

    `warmup` seconds at the same rate come first, not measured. A request not answered within
    `request_timeout` counts as a timeout; the run ends at most `request_timeout` after the last request
    is due, whatever the server is still doing."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    client = RawHttp(base, headers)

    async def one(due: float, measured: bool, path: str) -> None:
        try:
            key = str(await asyncio.wait_for(client.get(path), max(0.01, due + request_timeout - time.perf_counter())))
        except TimeoutError:
            key = "timeout"
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
            key = type(exc).__name__
        if measured:
            statuses[key] = statuses.get(key, 0) + 1
            if key == "200":
                latencies.append(time.perf_counter() - due)

    async def paced(count: int, measured: bool) -> None:
        start = time.perf_counter() + 0.05
        tasks = []
        for i in range(count):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(due, measured, paths[i % len(paths)])))
        await asyncio.gather(*tasks)  # each ends by its deadline

    try:
        await paced(int(rate * warmup), measured=False)  # connections, caches, the client's own start-up
        total = int(rate * seconds)
        await paced(total, measured=True)
    finally:
        client.close()
    ms = [v * 1000 for v in latencies]
    return {"requests": total, "rate": rate, "seconds": seconds, "statuses": statuses,
            "p50_ms": _ms(pct(ms, 50)), "p90_ms": _ms(pct(ms, 90)), "p99_ms": _ms(pct(ms, 99)),
            "max_ms": _ms(max(ms) if ms else None),
            "note": "percentiles over answered (200) requests; see statuses for the rest"}
