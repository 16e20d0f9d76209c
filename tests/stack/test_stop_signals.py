"""`make run` stops everything it started, every time: Ctrl-C in a terminal (SIGINT to the whole
foreground process group: make, uv, python and the services), SIGTERM to make alone, SIGTERM to the
`guanhuai run` process alone. Nothing of that run may remain: no PostgreSQL, no NATS, no service, no port.

Issue 13: a terminal's Ctrl-C left PostgreSQL (once NATS) running. uv forwards SIGINT to its child once
more, and that second KeyboardInterrupt broke off the stop half-way."""

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from stack_helpers import RunningStack, ports_in_use, processes_of, wait_for_line

pytestmark = pytest.mark.slow


def ctrl_c(stack: RunningStack) -> None:
    os.killpg(stack.proc.pid, signal.SIGINT)  # what a terminal does: make, uv, python, services all get it


def sigterm_to_make(stack: RunningStack) -> None:
    os.kill(stack.proc.pid, signal.SIGTERM)


def sigterm_to_guanhuai(stack: RunningStack) -> None:
    [pid] = [
        pid
        for pid, command in processes_of(stack.data_dir).items()
        if command.endswith("guanhuai run") and "uv" not in command.split()[0]
    ]
    os.kill(pid, signal.SIGTERM)


def servers(stack: RunningStack) -> dict[str, int]:
    """The PostgreSQL postmaster and nats-server of this run, by pid."""
    found = {}
    for pid, command in processes_of(stack.data_dir).items():
        if "nats-server" in command.split()[0]:
            found["nats"] = pid
        elif command.split()[0].endswith("/postgres") and " -D " in command:
            found["postgres"] = pid
    return found


@pytest.mark.parametrize("stop", [ctrl_c, sigterm_to_make, sigterm_to_guanhuai], ids=lambda f: f.__name__)
def test_make_run_leaves_nothing_running(tmp_path: Path, stop: Callable[[RunningStack], None]) -> None:
    stack = RunningStack.start(tmp_path)
    try:
        stack.wait_until_ready()
        ports = stack.ports
        assert set(servers(stack)) == {"postgres", "nats"}, processes_of(tmp_path)
        stop(stack)
        stack.finish(timeout=120)
        assert "Stopped." in stack.output, stack.output[-3000:]
        deadline = time.monotonic() + 5  # the exit of a process and the release of its port are not atomic
        while (processes_of(tmp_path) or ports_in_use(ports)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_of(tmp_path) == {}, stack.output[-3000:]
        assert ports_in_use(ports) == []
        assert not (tmp_path / "pg" / "postmaster.pid").exists()
    finally:
        stack.kill()


def test_ctrl_c_while_starting_leaves_nothing_running(tmp_path: Path) -> None:
    """An impatient Ctrl-C, once PostgreSQL and NATS are up and the migrations run."""
    stack = RunningStack.start(tmp_path)
    try:
        stack.output += wait_for_line(stack.proc, "NATS:", timeout=180)
        assert set(servers(stack)) == {"postgres", "nats"}, processes_of(tmp_path)
        ctrl_c(stack)
        stack.finish(timeout=120)
        assert "Stopped." in stack.output and "All four services ready" not in stack.output, stack.output[-3000:]
        deadline = time.monotonic() + 5
        while processes_of(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_of(tmp_path) == {}, stack.output[-3000:]
    finally:
        stack.kill()
