"""`make run` (= `guanhuai run`): all four services and both simulators ready within 60 s, the services
pointed at the simulators, Ctrl-C stops everything, and a second run reuses the data."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from stack_helpers import stack_env, wait_for_line

from carekit.devstack.catalogue import SERVICES, SIMULATORS
from carekit.devstack.servers import port_is_free

pytestmark = pytest.mark.slow


def check_simulators(env: dict[str, str], output: str) -> list[int]:
    """Both simulators answer on their ports, their URLs were printed, and they are wired to the services."""
    ports = [int(env[f"{spec.env_prefix}PORT"]) for spec in SIMULATORS]
    payments, sms = (f"http://127.0.0.1:{port}" for port in ports)
    assert f"Simulator payments: {payments}" in output and f"Simulator sms: {sms}" in output
    with httpx.Client(timeout=5) as client:
        for url in (payments, sms):
            assert client.get(f"{url}/healthz").json() == {"status": "ok"}
        merchants = client.get(f"{payments}/_sim/merchants").json()
        relief_port = env["RELIEF_PORT"]
        assert merchants["guanhuai-relief"]["callback_url"] == (
            f"http://127.0.0.1:{relief_port}/v1/provider-callbacks/simulator"
        )
        assert client.get(f"{sms}/_sim/stats").json()["messages"] == 0
    return ports


def guanhuai(*args: str) -> list[str]:
    return [sys.executable, "-m", "carekit.cli", *args]


def test_run_ready_then_ctrl_c_then_reuse(tmp_path: Path) -> None:
    env = stack_env(tmp_path)
    proc = subprocess.Popen(
        guanhuai("run"), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output = wait_for_line(proc, "All four services ready", timeout=120)
        seconds = float(output.rsplit("ready in ", 1)[1].split("s", 1)[0])
        assert seconds <= 60
        output += wait_for_line(proc, "Simulator sms:", timeout=30)
        simulator_ports = check_simulators(env, output)
        state = json.loads((tmp_path / "stack.json").read_text())
        ports = [state["pg_port"], state["nats_port"]] + [int(env[f"{s.env_prefix}PORT"]) for s in SERVICES]
        ports += simulator_ports
        assert 5432 not in ports and 4222 not in ports
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    for port in ports:
        assert port_is_free(port), f"port {port} still in use after Ctrl-C"

    initialised_at = (tmp_path / "pg" / "PG_VERSION").stat().st_mtime_ns
    again = subprocess.run(
        guanhuai("run", "--exit-when-ready"), env=stack_env(tmp_path), capture_output=True, text=True, timeout=180
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert "All four services ready" in again.stdout
    assert (tmp_path / "pg" / "PG_VERSION").stat().st_mtime_ns == initialised_at  # same cluster, not re-initdb'd
