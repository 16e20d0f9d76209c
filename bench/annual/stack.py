"""The whole platform on throw-away embedded servers, started the way `make run` starts it
(`carekit.devstack.stack`): one PostgreSQL (durable settings) with a database per service, NATS with
JetStream, every database migrated, the payment and SMS simulators and the four services under uvicorn
in subprocesses of their own, each pointed at the others on free loopback ports."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.processes import start_uvicorn, stop

MERCHANT, CALLBACK_SECRET = "guanhuai-relief", "bench-annual-callback-secret-0123456789"
SERVICE_NAMES = ("registry", "entitlements", "relief", "notifications")


@dataclass
class Stack:
    root: Path
    workers: dict[str, int]
    log_level: str = "WARNING"
    pg: object | None = None
    nats: object | None = None
    db_urls: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    pg_version: str = ""

    # -- servers ----------------------------------------------------------------------------------------
    def start_servers(self) -> None:
        from carekit.devstack.servers import EmbeddedNats, EmbeddedPostgres

        self.pg = EmbeddedPostgres(self.root / "pg").start()  # durable: fsync, synchronous_commit on
        self.nats = EmbeddedNats(self.root / "nats").start()
        self.pg_version = asyncio.run(self._tune_postgres())

    async def _tune_postgres(self) -> str:
        import asyncpg

        from carekit.db.engine import asyncpg_dsn
        from carekit.devstack.databases import create_database

        conn = await asyncpg.connect(asyncpg_dsn(self.pg.admin_url))
        try:  # as a server taking bulk imports would be set up (the registry bench does the same)
            await conn.execute("ALTER SYSTEM SET max_wal_size = '8GB'")
            await conn.execute("SELECT pg_reload_conf()")
            version = await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()
        for name in SERVICE_NAMES:
            await create_database(self.pg.admin_url, name)
            self.db_urls[name] = self.pg.url(name)
        return version

    def migrate(self) -> None:
        from carekit.db.migrations import upgrade_to_head

        for name in SERVICE_NAMES:
            root = importlib.import_module(f"{name}.main").SERVICE_ROOT
            upgrade_to_head(root, self.db_urls[name])

    @property
    def nats_url(self) -> str:
        return self.nats.url

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    # -- processes --------------------------------------------------------------------------------------
    def allocate_ports(self) -> None:
        from carekit.devstack.servers import free_port

        for name in (*SERVICE_NAMES, "payments", "sms"):
            self.ports[name] = free_port()

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["NATS_URL"] = self.nats_url
        env["GUANHUAI_DATA_DIR"] = str(self.root / "data")
        for name in SERVICE_NAMES:
            prefix = name.upper() + "_"
            env[f"{prefix}DATABASE_URL"] = self.db_urls[name]
            env[f"{prefix}PORT"] = str(self.ports[name])
            env[f"{prefix}LOG_LEVEL"] = self.log_level
        payments, sms, notifications = self.url("payments"), self.url("sms"), self.url("notifications")
        env |= {
            "RELIEF_REGISTRY_URL": self.url("registry"),
            "RELIEF_PAYMENT_PROVIDER_URL": payments,
            "RELIEF_PAYMENT_MERCHANT_ID": MERCHANT,
            "RELIEF_PAYMENT_CALLBACK_SECRET": CALLBACK_SECRET,
            "RELIEF_PAYMENT_TIMEOUT_SECONDS": "30",
            "RELIEF_SENDER_POLL_SECONDS": "0.2",
            "RELIEF_QUERY_AFTER_SECONDS": "20",
            "RELIEF_CONSUMER_BATCH_SIZE": "20",  # a cycle chunk is one event of 1,000 lines
            "NOTIFICATIONS_REGISTRY_URL": self.url("registry"),
            "NOTIFICATIONS_ALIYUN_URL": f"{sms}/aliyun",
            "NOTIFICATIONS_TENCENT_URL": f"{sms}/tencent",
            "NOTIFICATIONS_ALIYUN_BATCH_SIZE": "100",
            "NOTIFICATIONS_SENDER_BATCH_SIZE": "1000",
            "NOTIFICATIONS_SENDER_POLL_SECONDS": "0.2",
            "NOTIFICATIONS_CONSUMER_BATCH_SIZE": "500",
            # as `make run` (a development stack): no quiet hours, so the run texts families at any hour, and
            # a decision notice waits 5 s for the other decisions of its change (production: 5 minutes)
            "NOTIFICATIONS_QUIET_HOURS_START": "0",
            "NOTIFICATIONS_QUIET_HOURS_END": "0",
            "NOTIFICATIONS_DECISION_HOLD_SECONDS": "5",
            # the simulators: callbacks and receipts back to this run's relief and notifications
            "SIM_PAY_MERCHANT_ID": MERCHANT,
            "SIM_PAY_CALLBACK_SECRET": CALLBACK_SECRET,
            "SIM_PAY_CALLBACK_URL": f"{self.url('relief')}/v1/provider-callbacks/simulator",
            "SIM_PAY_BATCH_CALLBACKS": "true",
            "SIM_PAY_FAULTS__SETTLE_DELAY_MS": "200",
            "SIM_PAY_FAULTS__CALLBACK_BATCH_MAX": "2000",
            "SIM_PAY_FAULTS__CALLBACK_CONCURRENCY": "4",
            "SIM_SMS_FAULTS__RECEIPT_DELAY_MS": "1000",  # 200 ms races the sender's commit (see report)
            **{
                f"SIM_SMS_{provider.upper()}_{kind.upper()}_URL": f"{notifications}/v1/providers/{provider}/{kind}"
                for provider in ("aliyun", "tencent")
                for kind in ("receipts", "inbound")
            },
        }
        return env

    def _spawn(self, name: str, factory: str, workers: int = 1) -> None:
        log = (self.root / "logs").joinpath(f"{name}.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        args = ["--factory", factory, "--port", str(self.ports[name]), "--log-level", "warning"]
        if workers > 1:
            args += ["--workers", str(workers)]
        self.processes[name] = start_uvicorn(args, self._env(), log)

    def start_simulators(self) -> None:
        self._spawn("payments", "simulators.payments.app:create_app")
        self._spawn("sms", "simulators.sms.app:create_app")
        self.wait_ready({"payments": "/healthz", "sms": "/healthz"})

    def start_services(self, names: tuple[str, ...] = SERVICE_NAMES) -> None:
        for name in names:
            self._spawn(name, f"{name}.main:create_app", self.workers.get(name, 1))
        self.wait_ready({name: "/readyz" for name in names})

    def wait_ready(self, paths: dict[str, str], timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        pending = dict(paths)
        with httpx.Client(timeout=2) as client:
            while pending and time.monotonic() < deadline:
                for name, path in list(pending.items()):
                    if self.processes[name].poll() is not None:
                        raise RuntimeError(f"{name} exited: {self.log_tail(name)}")
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(self.url(name) + path).status_code == 200:
                            del pending[name]
                time.sleep(0.2)
        if pending:
            raise RuntimeError(f"not ready after {timeout:.0f}s: {sorted(pending)}")

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.root / "logs" / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def alive(self, name: str) -> bool:
        process = self.processes.get(name)
        return process is not None and process.poll() is None

    def stop_process(self, name: str) -> None:
        stop(self.processes.pop(name, None))

    def stop(self) -> None:
        for name in list(self.processes):
            self.stop_process(name)
        if self.nats is not None:
            self.nats.stop()
        if self.pg is not None:
            self.pg.stop()

    # -- for CPU accounting -----------------------------------------------------------------------------
    def postmaster_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.pg.data_dir / "postmaster.pid").read_text().splitlines()[0])
        return None

    def nats_pid(self) -> int | None:
        process = getattr(self.nats, "_process", None)
        return process.pid if process is not None else None
