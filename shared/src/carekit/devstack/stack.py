"""`make run`: embedded PostgreSQL and NATS (unless URLs are given), one database per service,
migrations, the payment and SMS simulators, the four services, readiness, and a clean stop on Ctrl-C."""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from carekit.auth.keys import ensure_dev_keys
from carekit.db.migrations import upgrade_to_head
from carekit.devstack.catalogue import SERVICES, SIMULATORS, ServiceSpec, SimulatorSpec
from carekit.devstack.databases import create_database
from carekit.devstack.servers import EmbeddedNats, EmbeddedPostgres
from carekit.paths import data_dir

console = Console(soft_wrap=True)  # a line is never folded: tests and log readers match whole lines
DEV_PAYMENT_MERCHANT = "guanhuai-relief"
DEV_PAYMENT_CALLBACK_SECRET = "dev-insecure-payment-callback-secret"


def service_port(spec: ServiceSpec) -> int:
    return int(os.environ.get(f"{spec.env_prefix}PORT", spec.default_port))


def simulator_port(spec: SimulatorSpec) -> int:
    return int(os.environ.get(f"{spec.env_prefix}PORT", spec.default_port))


def local(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def wiring() -> tuple[dict[str, str], dict[str, str]]:
    """(settings for the services, settings for the simulators) that point each at the other.
    Anything already in the environment wins."""
    registry = local(service_port(SERVICES[0]))
    relief = local(service_port(SERVICES[2]))
    notifications = local(service_port(SERVICES[3]))
    payments, sms = (local(simulator_port(s)) for s in SIMULATORS)
    merchant = os.environ.get("RELIEF_PAYMENT_MERCHANT_ID", DEV_PAYMENT_MERCHANT)
    secret = os.environ.get("RELIEF_PAYMENT_CALLBACK_SECRET", DEV_PAYMENT_CALLBACK_SECRET)
    to_services = {
        # Relief and notifications read persons from the registry, wherever REGISTRY_PORT put it.
        "RELIEF_REGISTRY_URL": registry,
        "NOTIFICATIONS_REGISTRY_URL": registry,
        "RELIEF_PAYMENT_PROVIDER_URL": payments,
        "RELIEF_PAYMENT_MERCHANT_ID": merchant,
        "RELIEF_PAYMENT_CALLBACK_SECRET": secret,
        "NOTIFICATIONS_ALIYUN_URL": f"{sms}/aliyun",
        "NOTIFICATIONS_TENCENT_URL": f"{sms}/tencent",
        # A development stack: partner endpoints on this machine (the demo receiver on :8103) are allowed,
        # quiet hours are off so a demo texts families at any hour, and a decision notice waits 5 s (not
        # 5 minutes) for the other decisions of the same change. Production keeps all three.
        "NOTIFICATIONS_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.1/32"]',
        "NOTIFICATIONS_QUIET_HOURS_START": "0",
        "NOTIFICATIONS_QUIET_HOURS_END": "0",
        "NOTIFICATIONS_DECISION_HOLD_SECONDS": "5",
    }
    to_simulators = {
        "SIM_PAY_MERCHANT_ID": merchant,
        "SIM_PAY_CALLBACK_SECRET": secret,
        "SIM_PAY_CALLBACK_URL": f"{relief}/v1/provider-callbacks/simulator",
        **{
            f"SIM_SMS_{provider.upper()}_{kind.upper()}_URL": f"{notifications}/v1/providers/{provider}/{kind}"
            for provider in ("aliyun", "tencent")
            for kind in ("receipts", "inbound")
        },
    }
    return (
        {k: os.environ.get(k, v) for k, v in to_services.items()},
        {k: os.environ.get(k, v) for k, v in to_simulators.items()},
    )


class StopRequested(Exception):
    """Ctrl-C, SIGTERM or SIGHUP arrived: start-up gives way at its next step."""


class StopRequest:
    """Ctrl-C, SIGTERM and SIGHUP only set a flag. They never interrupt a step half-way, so the stop that
    follows always runs to its end. A terminal's Ctrl-C reaches make, uv and this process at once, and uv
    forwards it once more: an interrupting handler would break off the stop at that second signal and leave
    PostgreSQL and NATS running (issue 13)."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._note)

    def _note(self, signum: int, _frame: object) -> None:
        if self.signal_name is None:
            self.signal_name = signal.Signals(signum).name

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def check(self) -> None:
        if self.requested:
            raise StopRequested(self.signal_name)


@dataclass
class Stack:
    root: Path
    postgres: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None
    database_urls: dict[str, str] = field(default_factory=dict)
    nats_url: str = ""
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    simulator_ports: dict[str, int] = field(default_factory=dict)

    @property
    def state_file(self) -> Path:
        return self.root / "stack.json"

    def remembered(self) -> dict:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            return json.loads(self.state_file.read_text())
        return {}

    def start_servers(self) -> None:
        state = self.remembered()
        given = {s.name: os.environ.get(f"{s.env_prefix}DATABASE_URL") for s in SERVICES}
        if all(given.values()):
            self.database_urls = {k: v for k, v in given.items() if v}
            console.print("PostgreSQL: using the servers named by <SVC>_DATABASE_URL")
        else:
            self.postgres = EmbeddedPostgres(self.root / "pg", port=state.get("pg_port"))
            with console.status("Starting PostgreSQL (embedded)…"):
                self.postgres.start()
            for spec in SERVICES:
                self.database_urls[spec.name] = given[spec.name] or self.postgres.url(spec.name)
                if not given[spec.name]:
                    asyncio.run(create_database(self.postgres.admin_url, spec.name))
            console.print(f"PostgreSQL: 127.0.0.1:{self.postgres.port} (data in {self.root / 'pg'})")
        if os.environ.get("NATS_URL"):
            self.nats_url = os.environ["NATS_URL"]
            console.print(f"NATS: using {self.nats_url}")
        else:
            self.nats = EmbeddedNats(self.root / "nats", port=state.get("nats_port"))
            with console.status("Starting NATS with JetStream (embedded)…"):
                self.nats.start()
            self.nats_url = self.nats.url
            console.print(f"NATS: {self.nats_url} (data in {self.root / 'nats'})")
        self.state_file.write_text(
            json.dumps(
                {
                    "pg_port": self.postgres.port if self.postgres else None,
                    "nats_port": self.nats.port if self.nats else None,
                }
            )
        )

    def migrate(self, stop: StopRequest) -> None:
        import importlib

        for spec in SERVICES:
            stop.check()
            root = importlib.import_module(f"{spec.name}.main").SERVICE_ROOT
            with console.status(f"Migrating {spec.name}…"):
                upgrade_to_head(root, self.database_urls[spec.name])
        console.print("Migrations: all four databases at head")

    def service_env(self, spec: ServiceSpec, port: int) -> dict[str, str]:
        env = dict(os.environ)
        env[f"{spec.env_prefix}DATABASE_URL"] = self.database_urls[spec.name]
        env[f"{spec.env_prefix}PORT"] = str(port)
        env["NATS_URL"] = self.nats_url
        env.setdefault("GUANHUAI_DATA_DIR", str(self.root))
        env.update(wiring()[0])
        return env

    def start_simulators(self) -> None:
        """The outside world (bank, SMS carriers) as local processes the services are pointed at."""
        log_dir = self.root / "logs"
        log_dir.mkdir(exist_ok=True)
        for spec in SIMULATORS:
            port = simulator_port(spec)
            self.simulator_ports[spec.name] = port
            log = (log_dir / f"{spec.name}-simulator.log").open("ab")
            self.processes[f"{spec.name}-simulator"] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    spec.app_factory,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-access-log",
                ],
                env={**os.environ, **wiring()[1]},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def ready_url(self, name: str) -> str:
        if name.endswith("-simulator"):
            return f"{local(self.simulator_ports[name.removesuffix('-simulator')])}/healthz"
        return f"{local(self.ports[name])}/readyz"

    def start_services(self) -> None:
        log_dir = self.root / "logs"
        log_dir.mkdir(exist_ok=True)
        for spec in SERVICES:
            port = service_port(spec)
            self.ports[spec.name] = port
            log = (log_dir / f"{spec.name}.log").open("ab")
            self.processes[spec.name] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    spec.app_factory,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--no-access-log",
                ],
                env=self.service_env(spec, port),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_until_ready(self, stop: StopRequest, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.processes)
        with console.status("Waiting for the services to be ready…"), httpx.Client(timeout=2) as client:
            while pending and time.monotonic() < deadline:
                stop.check()
                for name in list(pending):
                    if self.processes[name].poll() is not None:
                        raise RuntimeError(f"{name} exited; see {self.root / 'logs' / (name + '.log')}")
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(self.ready_url(name)).status_code == 200:
                            pending.discard(name)
                time.sleep(0.2)
        if pending:
            raise RuntimeError(f"not ready after {timeout:.0f}s: {sorted(pending)}; see {self.root / 'logs'}")

    def print_summary(self) -> None:
        table = Table(title="Guanhuai (关怀) is running")
        table.add_column("service")
        table.add_column("API docs")
        table.add_column("ready")
        for name, port in self.ports.items():
            table.add_row(name, f"http://127.0.0.1:{port}/docs", f"http://127.0.0.1:{port}/readyz")
        console.print(table)
        simulators = Table(title="Simulators of the outside world")
        simulators.add_column("simulator")
        simulators.add_column("URL")
        simulators.add_column("inspect")
        for spec in SIMULATORS:
            url = local(self.simulator_ports[spec.name])
            simulators.add_row(spec.title, url, f"{url}/_sim/stats")
        console.print(simulators)
        for spec in SIMULATORS:
            console.print(f"Simulator {spec.name}: {local(self.simulator_ports[spec.name])}")
        console.print("Get a token:  make token ROLE=caseworker REGION=360702")
        console.print('Then:         curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8001/v1/me')
        console.print(f"Logs in {self.root / 'logs'}. Ctrl-C stops everything.")

    def stop(self) -> None:
        """Services and simulators first (they hold connections), then NATS, then PostgreSQL; each is
        waited for, so nothing this run started is left when it returns."""
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.processes.clear()
        if self.nats:
            self.nats.stop()
        if self.postgres:
            self.postgres.stop()


def say(message: str) -> None:
    """Print unless the terminal is gone (SIGHUP): a closed terminal must not break off the stop."""
    with contextlib.suppress(OSError, ValueError):
        console.print(message)


def run_stack(ready_timeout: float = 60.0, exit_when_ready: bool = False) -> None:
    stack = Stack(root=data_dir())
    ensure_dev_keys()
    stop = StopRequest()
    stop.install()
    try:
        stack.start_servers()
        stop.check()
        stack.migrate(stop)
        stack.start_simulators()
        stack.start_services()
        started = time.monotonic()
        stack.wait_until_ready(stop, ready_timeout)
        console.print(f"All four services ready in {time.monotonic() - started:.1f}s")
        stack.print_summary()
        watch(stack, stop, exit_when_ready)
    except StopRequested:
        pass
    finally:
        say("Stopping…")
        stack.stop()
        say("Stopped.")


def watch(stack: Stack, stop: StopRequest, exit_when_ready: bool) -> None:
    """Until a stop is asked for or a process exits on its own."""
    while not stop.requested and not exit_when_ready:
        for name, proc in stack.processes.items():
            if proc.poll() is not None:
                say(f"[red]{name} exited with {proc.returncode}; stopping[/red]")
                return
        time.sleep(0.5)
