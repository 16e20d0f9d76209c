"""Server processes of the benchmarks: start one under uvicorn in its own process group, wait until it
answers, stop it and all its workers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx


def start_uvicorn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """`python -m uvicorn <args>` on 127.0.0.1, output appended to `log`, in a process group of its own."""
    out = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "uvicorn", *args, "--host", "127.0.0.1", "--no-access-log"],
                            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    """Until `url` answers 200; the log's tail if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"not ready: {url}")


def stop(process: subprocess.Popen | None) -> None:
    """SIGTERM to the process group (uvicorn's workers included), SIGKILL after 20 s."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
