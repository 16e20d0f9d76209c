"""`make run` (= `guanhuai run`): all four services ready within 60 s, Ctrl-C stops everything,
and a second run reuses the data."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from carekit.devstack.catalogue import SERVICES
from carekit.devstack.servers import free_port, port_is_free

pytestmark = pytest.mark.slow


def stack_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL") and k != "NATS_URL"}
    env["GUANHUAI_DATA_DIR"] = str(data_dir)
    for spec in SERVICES:
        env[f"{spec.env_prefix}PORT"] = str(free_port())
    return env


def guanhuai(*args: str) -> list[str]:
    return [sys.executable, "-m", "carekit.cli", *args]


def wait_for_line(proc: subprocess.Popen, needle: str, timeout: float) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"'{needle}' not printed within {timeout}s:\n{''.join(seen)}")


def test_run_ready_then_ctrl_c_then_reuse(tmp_path: Path) -> None:
    env = stack_env(tmp_path)
    proc = subprocess.Popen(guanhuai("run"), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        output = wait_for_line(proc, "All four services ready", timeout=120)
        seconds = float(output.rsplit("ready in ", 1)[1].split("s", 1)[0])
        assert seconds <= 60
        state = json.loads((tmp_path / "stack.json").read_text())
        ports = [state["pg_port"], state["nats_port"]] + [int(env[f"{s.env_prefix}PORT"]) for s in SERVICES]
        assert 5432 not in ports and 4222 not in ports
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    for port in ports:
        assert port_is_free(port), f"port {port} still in use after Ctrl-C"

    initialised_at = (tmp_path / "pg" / "PG_VERSION").stat().st_mtime_ns
    again = subprocess.run(guanhuai("run", "--exit-when-ready"), env=stack_env(tmp_path), capture_output=True,
                           text=True, timeout=180)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "All four services ready" in again.stdout
    assert (tmp_path / "pg" / "PG_VERSION").stat().st_mtime_ns == initialised_at  # same cluster, not re-initdb'd
