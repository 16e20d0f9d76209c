"""CPU seconds used during a stage, by each of this run's process groups (the bench, each service, the
simulators, PostgreSQL, NATS) and by the rest of the machine, which is shared with other sessions."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable

import psutil


def machine_busy_seconds() -> float:
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


class CpuMeter:
    """Samples the CPU times of each group's process trees every second (exited processes still count
    with their last sample)."""

    def __init__(self, groups: Callable[[], dict[str, list[int]]]) -> None:
        self.groups = groups
        self.first: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _pids(self) -> dict[tuple[str, int], psutil.Process]:
        found: dict[tuple[str, int], psutil.Process] = {}
        for name, roots in self.groups().items():
            for root in roots:
                with contextlib.suppress(psutil.Error):
                    process = psutil.Process(root)
                    found[(name, root)] = process
                    if name == "bench":  # the services are its children, counted in their own groups
                        continue
                    for child in process.children(recursive=True):
                        found[(name, child.pid)] = child
        return found

    def _sample(self, starting: bool) -> None:
        for key, process in self._pids().items():
            with contextlib.suppress(psutil.Error):
                t = process.cpu_times()
                used = t.user + t.system
                self.first.setdefault(key, used if starting else 0.0)
                self.last[key] = used

    def __enter__(self) -> CpuMeter:
        self._sample(starting=True)
        self.t0, self.busy0 = time.perf_counter(), machine_busy_seconds()

        def loop() -> None:
            while not self._stop.wait(1.0):
                self._sample(starting=False)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample(starting=False)
        self.wall = time.perf_counter() - self.t0
        self.busy = machine_busy_seconds() - self.busy0

    def report(self) -> dict[str, object]:
        by_group: dict[str, float] = {}
        for (name, pid), used in self.last.items():
            by_group[name] = by_group.get(name, 0.0) + used - self.first.get((name, pid), 0.0)
        own = sum(by_group.values())
        wall = max(self.wall, 1e-9)
        return {
            "own_cores": round(own / wall, 2),
            "other_cores": round(max(0.0, self.busy - own) / wall, 2),
            "cpu_s": {k: round(v, 1) for k, v in sorted(by_group.items(), key=lambda kv: -kv[1])},
            "cores": os.cpu_count() or 0,
        }
