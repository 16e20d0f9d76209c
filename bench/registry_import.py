"""Benchmark of the registry: bulk import of 1,000,000 persons, and household reads at a fixed rate.

Run with `uv run python bench/registry_import.py` (options: --persons, --rate, --seconds, --keep).
Everything runs on loopback in a temporary folder that is removed at the end: an embedded PostgreSQL
(durable: fsync and synchronous_commit on; max_wal_size raised to 8GB for the bulk load, as a
server taking imports would be configured) and an embedded NATS with JetStream.

1. A CSV of N persons is generated deterministically (seeded): households of 2–4 persons (head,
   spouse, 0–2 children with their parents' ID numbers) in the villages of the bundled division
   table, valid resident IDs (check characters computed with python-stdnum), a mobile number and a
   Luhn-valid bank card for every head, Chinese headers, GB18030 like a government Excel export.
2. Baseline: a raw COPY of the same file into a plain table of text columns (no checks, no
   indexes), in the same server.
3. The registry runs under uvicorn in a subprocess (as in production: its outbox relay publishes
   to NATS while the import runs). The file is uploaded to POST /v1/imports and the job is polled
   until it completes. Import rate = persons created / (job finished_at − created_at), as the job
   records them. CPU seconds of every process (registry, its worker processes, PostgreSQL, NATS)
   are sampled during the import to show where the time goes.
4. Reads: GET /v1/households/{id} of random imported households at a fixed rate (open loop: a
   request is sent every 1/rate s whatever the earlier ones do; latency counts from the scheduled
   send time; 5 s without an answer is a timeout) for --seconds, beside a bare FastAPI endpoint
   (same route shape, constant body) run under uvicorn the same way, then 30 reads one at a time.
   Before the reads the service is restarted (which stops an import the bench stopped waiting for)
   and the import's undelivered events are discarded: draining ~1.7M events is the event backbone's
   benchmark (bench/events.py) and would take minutes here.

Results: printed, and written to bench/results/registry_import.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import platform
import random
import shutil
import subprocess
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TARGET_RATE = 20_000.0  # persons/s
TARGET_P99_MS = 20.0  # household read at 200 requests/s
HEADER = ["户编号", "区划代码", "户口性质", "住址", "现居住地区划代码", "姓名", "公民身份号码", "性别", "出生日期",
          "与户主关系", "手机号码", "银行卡号", "母亲身份号码", "父亲身份号码"]
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
            "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕彬鹏辉建国志文斌宇浩凯健俊帆帅"
         "旭宁龙林欣晨阳子涵梓轩诺依宸睿博思雨佳怡嘉豪海波春梅秋菊冬雪琳瑶婷慧颖琪晓东亮成立新光荣金德福")
MOBILE_PREFIXES = ("138", "139", "137", "150", "151", "186", "187", "188", "135", "158")

import httpx  # noqa: E402
import psutil  # noqa: E402

try:  # run as a script: bench/ is on the path
    from loadgen import _ms, fixed_rate, pct  # noqa: E402
    from processes import start_uvicorn, stop, wait_ready  # noqa: E402
    from registry_floor import sql_floor  # noqa: E402
except ModuleNotFoundError:  # imported as bench.<module> (bench/annual_cycle.py)
    from bench.loadgen import _ms, fixed_rate, pct  # noqa: E402
    from bench.processes import start_uvicorn, stop, wait_ready  # noqa: E402
    from bench.registry_floor import sql_floor  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

console = Console()


# ----------------------------------------------------------------------------------------------
# the file
# ----------------------------------------------------------------------------------------------
def villages() -> list[tuple[str, str]]:
    """(code, name) of the villages of the bundled division table in force today."""
    from registry.data import division_csv_text
    from registry.domain.divisions import DivisionLevel, parse_division_csv

    table = parse_division_csv(division_csv_text())
    rows = [line.split(",") for line in division_csv_text().splitlines() if line[:1].isdigit()]
    today = date.today()
    return sorted({(r[0], r[1]) for r in rows if r[2] == DivisionLevel.VILLAGE and table.is_valid_on(r[0], today)})


def id_regions() -> list[str]:
    """County codes of the sample prefecture that resident IDs may carry (retired ones included)."""
    from registry.domain.identity import _known_region

    return [code for code in ("360702", "360721", "360782", "360727", "360703", "360704", "362101")
            if _known_region(code)]


class Generator:
    def __init__(self, seed: int) -> None:
        from stdnum import luhn
        from stdnum.cn import ric

        self.r = random.Random(seed)
        self.ric, self.luhn = ric, luhn
        self.used: dict[tuple[str, date, bool], int] = {}
        self.regions = id_regions()
        self.villages = villages()
        self.today = date.today()

    def resident_id(self, birth: date, female: bool) -> str:
        region = "360702" if self.r.random() < 0.7 else self.r.choice(self.regions)
        while True:
            key = (region, birth, female)
            n = self.used.get(key, 0)
            if n < 499:
                break
            region = self.r.choice(self.regions)
        self.used[key] = n + 1
        sequence = 2 * n + (2 if female else 1)
        body = f"{region}{birth:%Y%m%d}{sequence:03d}"
        return body + self.ric.calc_check_digit(body + "0")

    def name(self, surname: str | None = None) -> str:
        r = self.r
        return (surname or r.choice(SURNAMES)) + "".join(r.choice(GIVEN) for _ in range(1 if r.random() < 0.3 else 2))

    def day(self, start: date, end: date) -> date:
        return start + timedelta(days=self.r.randrange(max(1, (end - start).days)))

    def household(self, number: int) -> list[list[str]]:
        r = self.r
        code, village = self.villages[number % len(self.villages)]
        ref = f"{number:07d}"
        size = r.choices((2, 3, 4), weights=(30, 45, 25))[0]
        head_born = self.day(date(1950, 1, 1), date(1990, 12, 31))
        spouse_born = min(self.today - timedelta(days=20 * 366), head_born + timedelta(days=r.randrange(-1800, 1800)))
        head_id, spouse_id = self.resident_id(head_born, False), self.resident_id(spouse_born, True)
        surname = self.name()[0]
        phone = r.choice(MOBILE_PREFIXES) + f"{r.randrange(10**8):08d}"
        card = "6222" + "".join(str(r.randrange(10)) for _ in range(14))
        card += self.luhn.calc_check_digit(card)
        hukou = "农业" if r.random() < 0.7 else "非农业"
        rows = [[ref, code, hukou, f"{village}{number % 900 + 1}号", "", self.name(surname), head_id, "男", "", "户主",
                 phone, card, "", ""],
                [ref, code, "", "", "", self.name(), spouse_id, "女", "", "配偶", "", "", "", ""]]
        first = spouse_born + timedelta(days=20 * 366)
        last = min(self.today - timedelta(days=1), spouse_born + timedelta(days=42 * 365))
        for _ in range(size - 2):
            female = r.random() < 0.48
            child_id = self.resident_id(self.day(first, last), female)
            rows.append([ref, code, "", "", "", self.name(surname), child_id, "", "", "子女", "", "", spouse_id,
                         head_id])
        return rows


def write_csv(path: Path, persons: int, seed: int) -> dict[str, int]:
    generator = Generator(seed)
    written = households = 0
    with path.open("w", encoding="gb18030", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(HEADER)
        while written < persons:
            rows = generator.household(households)[: persons - written]
            writer.writerows(rows)
            written += len(rows)
            households += 1
    return {"persons": written, "households": households, "bytes": path.stat().st_size}


# ----------------------------------------------------------------------------------------------
# servers and processes
# ----------------------------------------------------------------------------------------------
class CpuMeter:
    """CPU seconds of groups of processes (sampled, so that processes that exit still count)."""

    def __init__(self, groups: dict[str, callable]) -> None:  # type: ignore[valid-type]
        self.groups = groups
        self.seen: dict[str, dict[int, float]] = {name: {} for name in groups}
        self.first: dict[str, dict[int, float]] = {name: {} for name in groups}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        for name, pids in self.groups.items():
            for pid in pids():
                with contextlib.suppress(psutil.Error):
                    t = psutil.Process(pid).cpu_times()
                    used = t.user + t.system
                    self.first[name].setdefault(pid, used if self._thread is None else 0.0)
                    self.seen[name][pid] = used

    @staticmethod
    def _busy() -> float:
        t = psutil.cpu_times()
        return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)

    def __enter__(self) -> CpuMeter:
        self._sample()
        self.busy0, self.t0 = self._busy(), time.perf_counter()

        def loop() -> None:
            while not self._stop.wait(1.0):
                self._sample()

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self._sample()
        self.wall = time.perf_counter() - self.t0
        self.busy = self._busy() - self.busy0

    def report(self) -> dict[str, Any]:
        used = {name: round(sum(v - self.first[name].get(pid, 0.0) for pid, v in pids.items()), 1)
                for name, pids in self.seen.items()}
        used["other (rest of the machine)"] = round(max(0.0, self.busy - sum(used.values())), 1)
        return {"wall_s": round(self.wall, 1), "cpu_s": used, "cores_busy": round(self.busy / self.wall, 2)}


def children_of(pid: int) -> list[int]:
    with contextlib.suppress(psutil.Error):
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    return []


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().splitlines()[0])


# ----------------------------------------------------------------------------------------------
# measurements
# ----------------------------------------------------------------------------------------------
async def drop_floor(admin_url: str) -> None:
    import asyncpg

    from carekit.db.engine import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await conn.execute("DROP DATABASE registry_floor")
    finally:
        await conn.close()


async def raw_copy(dsn: str, path: Path) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        columns = ", ".join(f"c{i} text" for i in range(len(HEADER)))
        await conn.execute(f"CREATE TABLE raw_rows ({columns})")
        started = time.perf_counter()
        status = await conn.copy_to_table("raw_rows", source=str(path), format="csv", header=True,
                                          encoding="GB18030")
        seconds = time.perf_counter() - started
        rows = int(status.split()[-1])
        await conn.execute("DROP TABLE raw_rows")
        return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}
    finally:
        await conn.close()


BARE_APP = '''
from fastapi import FastAPI

app = FastAPI()


@app.get("/v1/households/{household_id}")
async def household(household_id: str) -> dict:
    return {"id": household_id, "division_code": "360702001001", "hukou_type": "rural", "members": []}
'''


def busy_cores(seconds: float = 1.0) -> float:
    """How many cores the whole machine kept busy over the next `seconds`."""
    before = CpuMeter._busy()  # noqa: SLF001
    time.sleep(seconds)
    return (CpuMeter._busy() - before) / seconds  # noqa: SLF001


def wait_until_quiet(options: argparse.Namespace) -> float:
    """The machine may be shared (another test run or benchmark): wait a while for it to calm down."""
    deadline = time.monotonic() + options.wait_quiet
    busy = busy_cores()
    while busy > options.quiet_cores and time.monotonic() < deadline:
        console.print(f"  … the machine is busy ({busy:.2f} cores in use); waiting")
        time.sleep(4)
        busy = busy_cores()
    return round(busy, 2)


def machine(pg_version: str) -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")
    return {"cpu": model, "cores": len(os.sched_getaffinity(0)),
            "ram_gib": round(psutil.virtual_memory().total / 2**30),
            "kernel": platform.release(), "python": platform.python_version(), "postgresql": pg_version,
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}


# ----------------------------------------------------------------------------------------------
# the run
# ----------------------------------------------------------------------------------------------
def main() -> None:  # noqa: PLR0915
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--import-timeout", type=float, default=240.0,
                        help="stop waiting for the import after this many seconds and report its progress "
                             "(keeps the bench bounded on a slow or shared machine)")
    parser.add_argument("--read-workers", type=lambda v: [int(n) for n in v.split(",")], default=[1],
                        help="uvicorn worker processes serving the reads, e.g. 1,2 to measure both (the import "
                             "runs with one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--wait-quiet", type=float, default=120.0,
                        help="before the import and the reads, wait up to this many seconds for the rest of the "
                             "machine to go quiet (a shared machine)")
    parser.add_argument("--quiet-cores", type=float, default=0.3)
    parser.add_argument("--results", type=Path, default=RESULTS / "registry_import.json")
    options = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="registry-bench-"))
    os.environ["GUANHUAI_DATA_DIR"] = str(tmp)  # dev keys for this run only
    from carekit.db.engine import asyncpg_dsn
    from carekit.db.migrations import upgrade_to_head
    from carekit.devstack.databases import create_database
    from carekit.devstack.servers import EmbeddedNats, EmbeddedPostgres, free_port
    from carekit.testing.tokens import TokenFactory
    from registry.main import SERVICE_ROOT

    results: dict[str, Any] = {"started": datetime.now().isoformat(timespec="seconds"), "options": {
        "persons": options.persons, "seed": options.seed, "rate": options.rate, "seconds": options.seconds,
        "read_workers": options.read_workers}}
    pg = nats = registry = bare = None
    try:
        with console.status("Generating the file…"):
            started = time.perf_counter()
            csv_path = tmp / "persons.csv"
            results["file"] = write_csv(csv_path, options.persons, options.seed)
            results["file"]["generate_s"] = round(time.perf_counter() - started, 1)
        console.print(f"File: {results['file']}")

        pg = EmbeddedPostgres(tmp / "pg").start()
        nats = EmbeddedNats(tmp / "nats").start()
        asyncio.run(create_database(pg.admin_url, "registry"))
        url = pg.url("registry")
        dsn = asyncpg_dsn(url)

        async def setup() -> str:
            import asyncpg

            conn = await asyncpg.connect(asyncpg_dsn(pg.admin_url))
            try:
                await conn.execute("ALTER SYSTEM SET max_wal_size = '8GB'")
                await conn.execute("SELECT pg_reload_conf()")
                return await conn.fetchval("SHOW server_version")
            finally:
                await conn.close()

        pg_version = asyncio.run(setup())
        upgrade_to_head(SERVICE_ROOT, url)
        results["machine"] = machine(pg_version)
        console.print(f"Machine: {results['machine']}")

        with console.status("Raw COPY baseline…"):
            results["raw_copy"] = asyncio.run(raw_copy(dsn, csv_path))
        console.print(f"Raw COPY: {results['raw_copy']}")
        with console.status("SQL floor baseline (the required rows by SQL alone, own database)…"):
            asyncio.run(create_database(pg.admin_url, "registry_floor"))
            upgrade_to_head(SERVICE_ROOT, pg.url("registry_floor"))
            results["sql_floor"] = asyncio.run(sql_floor(asyncpg_dsn(pg.url("registry_floor")),
                                                         max(1, options.persons // 3)))
            asyncio.run(drop_floor(pg.admin_url))
        console.print(f"SQL floor: {results['sql_floor']}")

        port = free_port()
        env = dict(os.environ, REGISTRY_DATABASE_URL=url, NATS_URL=nats.url, REGISTRY_PORT=str(port),
                   REGISTRY_LOG_JSON="true", REGISTRY_LOG_LEVEL="INFO", GUANHUAI_DATA_DIR=str(tmp))
        log = tmp / "registry.log"
        registry = start_uvicorn(["--factory", "registry.main:create_app", "--port", str(port)], env, log)
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/readyz", registry, log)
        headers = TokenFactory().headers(roles=["caseworker"], region="360702", sub="bench-caseworker",
                                         ttl_seconds=3600)

        results["busy_cores_before_import"] = wait_until_quiet(options)
        results["import"] = run_import(base, headers, csv_path, options, registry, pg, nats, log)
        console.print(f"Import: {results['import']}")
        results["stored"] = asyncio.run(stored_counts(dsn))
        console.print(f"Stored: {results['stored']}")

        # Reads run on a quiet service: the import job (if the bench stopped waiting for it) is stopped by
        # restarting the service, and the import's undelivered events are discarded (draining them is
        # bench/events.py's subject and would take minutes here).
        results["outbox_backlog_discarded"] = asyncio.run(discard_outbox(dsn))
        stop(registry)
        if not results["import"]["complete"]:  # how far the job got, as it logs every ten chunks
            results["import"]["job_stats"] = job_stats(log, "import interrupted") or job_stats(log, "import progress")
        workers, *more_workers = options.read_workers
        registry = start_uvicorn(["--factory", "registry.main:create_app", "--port", str(port),
                                  "--workers", str(workers)], env, log)
        wait_ready(f"{base}/readyz", registry, log)
        household_paths = asyncio.run(sample_households(dsn, 5000))
        results["busy_cores_before_reads"] = wait_until_quiet(options)
        reads: dict[str, Any] = {}
        with console.status("Reads: one at a time, to see what a single read costs…"):
            reads["registry_one_at_a_time"] = asyncio.run(sequential_reads(base, household_paths[:30], headers))
        console.print(f"registry, one at a time: {reads['registry_one_at_a_time']}")
        bare_port = free_port()
        (tmp / "bare_app.py").write_text(BARE_APP)
        bare_log = tmp / "bare.log"
        bare = start_uvicorn(["bare_app:app", "--app-dir", str(tmp), "--port", str(bare_port)], dict(os.environ),
                             bare_log)
        wait_ready(f"http://127.0.0.1:{bare_port}/v1/households/x", bare, bare_log)
        with console.status("Reads: bare FastAPI endpoint…"):
            reads["bare_fastapi"] = asyncio.run(fixed_rate(f"http://127.0.0.1:{bare_port}", household_paths, headers,
                                                           options.rate, options.seconds))
        stop(bare)
        bare = None
        console.print(f"bare: {reads['bare_fastapi']}")
        with console.status("Reads: registry…"):  # last: a service that falls behind keeps working on
            reads["registry"] = asyncio.run(fixed_rate(base, household_paths, headers, options.rate, options.seconds))
        console.print(f"registry: {reads['registry']}")
        for count in more_workers:  # the same reads served by more worker processes
            stop(registry)
            registry = start_uvicorn(["--factory", "registry.main:create_app", "--port", str(port),
                                      "--workers", str(count)], env, log)
            wait_ready(f"{base}/readyz", registry, log)
            name = f"registry_{count}_workers"
            with console.status(f"Reads: registry, {count} worker processes…"):
                reads[name] = asyncio.run(fixed_rate(base, household_paths, headers, options.rate, options.seconds))
            console.print(f"{name}: {reads[name]}")
        results["reads"] = reads
        results["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        stop(registry)
        stop(bare)
        if nats is not None:
            nats.stop()
        if pg is not None:
            pg.stop()
        if not options.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            console.print(f"kept {tmp}")
    options.results.parent.mkdir(parents=True, exist_ok=True)
    options.results.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    summary(results)


def run_import(base: str, headers: dict[str, str], csv_path: Path, options: argparse.Namespace,
               registry: subprocess.Popen, pg, nats, log: Path) -> dict[str, Any]:  # noqa: ANN001
    groups = {
        "registry (uvicorn process)": lambda: [registry.pid],
        "registry import workers": lambda: children_of(registry.pid),
        "postgresql": lambda: [postmaster_pid(pg.data_dir), *children_of(postmaster_pid(pg.data_dir))],
        "nats-server": lambda: [nats._process.pid] if nats._process else [],  # noqa: SLF001
        "bench (this process)": lambda: [os.getpid()],
    }
    with CpuMeter(groups) as meter:
        started = time.perf_counter()
        with csv_path.open("rb") as f:
            response = httpx.post(f"{base}/v1/imports", headers=headers, timeout=600,
                                  files={"file": ("persons.csv", f, "text/csv")})
        accepted = time.perf_counter() - started
        response.raise_for_status()
        job_url = f"{base}{response.headers['location']}"
        deadline = time.monotonic() + options.import_timeout
        job = response.json()
        with console.status("Importing…") as status:
            while job["status"] in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(1.0)
                job = httpx.get(job_url, headers=headers, timeout=30).json()
                status.update(f"Importing… {job['done']:,}/{job['total']:,} rows")
        observed = time.perf_counter() - started
    created = datetime.fromisoformat(job["created_at"])
    complete = job["status"] == "completed"
    if complete:
        seconds = (datetime.fromisoformat(job["finished_at"]) - created).total_seconds()
        stats = job_stats(log, "import finished")
        persons = stats.get("persons_created", 0)
    else:  # stopped waiting: the rate so far, from the rows committed by now
        console.print(f"[yellow]import not finished after {options.import_timeout:.0f} s: {job}[/yellow]")
        seconds = (datetime.now(created.tzinfo) - created).total_seconds()
        stats = {}
        persons = job["done"] - job["failed"]
    return {
        "complete": complete, "persons_committed": persons,
        "status": job["status"], "total": job["total"], "done": job["done"], "failed": job["failed"],
        "upload_and_checks_s": round(accepted, 2), "job_s": round(seconds, 2),
        "end_to_end_s": round(observed, 2),
        "persons_per_s": round(persons / seconds) if seconds else None,
        "persons_per_s_end_to_end": round(persons / observed) if observed else None,
        "job_stats": stats,
        "cpu": meter.report(),
    }


def job_stats(log: Path, event: str) -> dict[str, Any]:
    """The job's own account of its work (the service logs it as JSON when the job ends)."""
    for line in reversed(log.read_text(errors="replace").splitlines()):
        if f'"{event}"' in line:
            stats = json.loads(line)
            return {k: stats.get(k) for k in ("rows", "persons_created", "persons_unchanged", "households_created",
                                              "facts_stored", "chunks", "workers", "writers", "read_seconds",
                                              "check_seconds", "store_seconds", "seconds", "statements")}
    return {}


async def sequential_reads(base: str, paths: list[str], headers: dict[str, str],
                           budget_s: float = 60.0) -> dict[str, Any]:
    """Reads one after the other (no queueing): what one household read costs the service."""
    ms = []
    deadline = time.monotonic() + budget_s
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=20) as client:
        for path in paths:
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            response = await client.get(path)
            response.raise_for_status()
            ms.append((time.perf_counter() - started) * 1000)
    return {"requests": len(ms), "p50_ms": _ms(pct(ms, 50)), "max_ms": _ms(max(ms) if ms else None)}


async def stored_counts(dsn: str) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        out = {t: await conn.fetchval(f"SELECT count(*) FROM {t}")
               for t in ("households", "persons", "life_events", "household_facts", "outbox")}
        out["database_mib"] = round(await conn.fetchval("SELECT pg_database_size(current_database())") / 2**20)
        return out
    finally:
        await conn.close()


async def sample_households(dsn: str, n: int) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT id FROM households ORDER BY md5(id::text) LIMIT $1", n)
        return [f"/v1/households/{r['id']}" for r in rows]
    finally:
        await conn.close()


async def outbox_backlog(dsn: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM outbox")
    finally:
        await conn.close()


async def discard_outbox(dsn: str) -> int:
    """Bench only: drop the import's undelivered events, so that the next reads run without the drain."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return int((await conn.execute("DELETE FROM outbox")).split()[-1])
    finally:
        await conn.close()


def summary(results: dict[str, Any]) -> None:
    table = Table(title="Registry import and reads")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    imp, raw = results.get("import", {}), results.get("raw_copy", {})
    if imp:
        table.add_row("import, persons/s (job)", f"{imp['persons_per_s']:,}", f"≥ {TARGET_RATE:,.0f}")
        table.add_row("import, persons/s (upload to done)", f"{imp['persons_per_s_end_to_end']:,}", "")
    if raw:
        table.add_row("raw COPY of the same rows, rows/s", f"{raw['rows_per_s']:,}", "")
    if floor := results.get("sql_floor"):
        table.add_row("SQL floor (required rows, SQL alone, one backend), persons/s",
                      f"{floor['persons_per_s_one_backend']:,}", "")
    for name, read in results.get("reads", {}).items():
        table.add_row(f"{name}: p50 / p99 ms", f"{read['p50_ms']} / {read.get('p99_ms', '–')}",
                      f"p99 ≤ {TARGET_P99_MS:.0f}" if name.startswith("registry") and "one_at" not in name else "")
    console.print(table)


if __name__ == "__main__":
    main()
