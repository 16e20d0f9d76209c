"""Start `make run` on free ports with its data in a temporary folder, and find what it left behind."""

import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from carekit.devstack.catalogue import SERVICES, SIMULATORS
from carekit.devstack.servers import free_port, port_is_free

ROOT = Path(__file__).resolve().parents[2]
READY_LINES = ("All four services ready", "Ctrl-C stops everything.")


def stack_env(data_dir: Path) -> dict[str, str]:
    """This process's environment with the data in `data_dir` and every port free (never 8001-8004 of a
    developer's own `make run`, never 5432/4222), and no servers of one's own named."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL") and k != "NATS_URL"}
    env["GUANHUAI_DATA_DIR"] = str(data_dir)
    for spec in (*SERVICES, *SIMULATORS):
        env[f"{spec.env_prefix}PORT"] = str(free_port())
    return env


def _lines(proc: subprocess.Popen) -> queue.Queue:
    """The process's output lines, read by a thread of their own ("" at the end), so a wait has a deadline
    even when the process prints nothing more (a bare readline would block forever)."""
    lines = getattr(proc, "_output_lines", None)
    if lines is None:
        lines = proc._output_lines = queue.Queue()

        def pump() -> None:
            for line in proc.stdout:
                lines.put(line)
            lines.put("")

        threading.Thread(target=pump, daemon=True).start()
    return lines


def rest_of_output(proc: subprocess.Popen, timeout: float) -> str:
    """Everything the process prints until it ends (TimeoutExpired if it is still running then)."""
    proc.wait(timeout=timeout)
    rest, lines = [], _lines(proc)
    while (line := lines.get(timeout=10)) != "":
        rest.append(line)
    return "".join(rest)


def wait_for_line(proc: subprocess.Popen, needle: str, timeout: float) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = _lines(proc).get(timeout=remaining)
        except queue.Empty:
            break
        if not line:
            break
        seen.append(line)
        if "Traceback" in line:
            raise AssertionError(f"failed before '{needle}':\n{''.join(seen)}{rest_of_output(proc, 30)}")
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"'{needle}' not printed within {timeout}s:\n{''.join(seen)}")


def processes_of(data_dir: Path) -> dict[int, str]:
    """pid → command line of every process that names `data_dir` in its command line or environment:
    PostgreSQL and NATS (data dir in their arguments), and everything `make run` started (environment)."""
    needle = str(data_dir).encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            command = (entry / "cmdline").read_bytes()
            mentions = needle in command or needle in (entry / "environ").read_bytes()
            if mentions and (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                found[int(entry.name)] = command.replace(b"\0", b" ").decode(errors="replace").strip()
    return found


def kill_leftovers(data_dir: Path) -> None:
    """After a failed test: no server of this run may outlive it (they are in sessions of their own)."""
    for pid in processes_of(data_dir):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@dataclass
class RunningStack:
    """A `make run` started in a session of its own (its process group is what a terminal would signal)."""

    data_dir: Path
    env: dict[str, str]
    proc: subprocess.Popen
    output: str = ""

    @classmethod
    def start(cls, data_dir: Path, command: list[str] | None = None) -> "RunningStack":
        env = stack_env(data_dir)
        proc = subprocess.Popen(
            command or ["make", "--no-print-directory", "-C", str(ROOT), "run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        return cls(data_dir, env, proc)

    def wait_until_ready(self, timeout: float = 180) -> None:
        for line in READY_LINES:
            self.output += wait_for_line(self.proc, line, timeout)

    def port(self, name: str) -> int:
        spec = next(s for s in (*SERVICES, *SIMULATORS) if s.name == name)
        return int(self.env[f"{spec.env_prefix}PORT"])

    @property
    def ports(self) -> list[int]:
        state = json.loads((self.data_dir / "stack.json").read_text())
        return [state["pg_port"], state["nats_port"], *(self.port(s.name) for s in (*SERVICES, *SIMULATORS))]

    def finish(self, timeout: float = 120) -> str:
        """Wait for the run to end by itself; the rest of its output."""
        rest = rest_of_output(self.proc, timeout)
        self.output += rest
        return rest

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        kill_leftovers(self.data_dir)


def ports_in_use(ports: list[int]) -> list[int]:
    return [port for port in ports if not port_is_free(port)]
