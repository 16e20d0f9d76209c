"""Benchmark of the entitlements: the population (SQL) path, the per-subject (Rust CEL) path, a whole
benefit cycle, and the partners' real-time eligibility check at a fixed rate.

Run with `uv run python bench/entitlements_batch.py` (options: --persons, --sample, --rate, --seconds).
Everything runs on loopback in a temporary folder removed at the end: an embedded PostgreSQL and NATS.

1. Population: N persons are generated in the database itself (one `INSERT … SELECT`, seeded, no
   parallel workers so it is repeatable): households of a father, a mother and one or two children in
   10 counties × 10 townships, rural or urban, only-child, two-daughter, bereaved (失独), disabled-only-
   child (伤残) and other families, certificates, low-income kinds, some deaths — the `person_facts` rows
   the projection would hold.
2. SQL path: every policy of the library (as stored active in the service's database) compiled to one
   query (`domain/sql_compiler.py`) and run over the whole table as of 2026-01-01, each once to warm up
   and then timed; the eligible rows are counted and summed inside PostgreSQL (`SELECT count(*),
   sum(amount) FROM (<query>)`), so the time is the evaluation, not the transfer. Rate = persons ×
   policies / total seconds (person-policy decisions per second).
3. Per-subject path: a random sample of the same rows read back and evaluated by
   `domain/evaluation.evaluate` (Rust CEL programs, explanations built) for every policy. Same rate
   definition; the ratio of the two is reported. Both paths' eligible sets on the sample are compared.
4. A cycle: `rural-reward-assistance` for 2026 over the whole population, county work items, frozen
   lines with payees (`service/cycles.py`), timed.
5. Eligibility: the service runs under uvicorn in a subprocess; `GET /v1/eligibility` for sampled
   persons (their ID numbers put in the blind index) and every person-subject policy, sent open loop by
   the lean keep-alive client of bench/loadgen.py at --rate requests/s for --seconds after a warm-up
   (request i is due at t0 + i/rate, latency counts from then: no coordinated omission; 5 s without an
   answer is a timeout).

Results: printed, and written to bench/results/entitlements_batch.json. Targets: ≥ 1,000,000 decisions/s
on the SQL path; p99 ≤ 20 ms at 300 requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import shutil
import subprocess
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx

try:  # run as a script: bench/ is on the path
    from loadgen import fixed_rate, pct
    from processes import start_uvicorn, stop, wait_ready
except ModuleNotFoundError:  # imported as bench.<module> (bench/annual_cycle.py)
    from bench.loadgen import fixed_rate, pct
    from bench.processes import start_uvicorn, stop, wait_ready

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
AS_OF = date(2026, 1, 1)
TARGET_DECISIONS = 1_000_000.0
TARGET_P99_MS = 20.0

POPULATION_SQL = """
SET max_parallel_workers_per_gather = 0;
SELECT setseed(:seed);
CREATE TEMP TABLE hh AS
SELECT h,
       md5('hh' || h)::uuid AS household_id,
       '3607' || lpad((21 + h % 10)::text, 2, '0') || lpad((1 + (h / 10) % 10)::text, 3, '0')
           || lpad((1 + (h / 100) % 20)::text, 3, '0') AS division,
       CASE WHEN random() < 0.7 THEN 'rural' ELSE 'urban' END AS hukou,
       random() AS kind,
       make_date(1950 + floor(random() * 45)::int, 1 + floor(random() * 12)::int, 1 + floor(random() * 28)::int)
           AS dad_birth,
       floor(random() * 6)::int AS gap,
       random() AS r1, random() AS r2, random() AS r3, random() AS r4
FROM generate_series(1, :households) AS h;
ALTER TABLE hh ADD COLUMN mum_birth date, ADD COLUMN kids int, ADD COLUMN c1_birth date, ADD COLUMN c2_birth date,
    ADD COLUMN c1_sex text, ADD COLUMN c2_sex text, ADD COLUMN c1_death date, ADD COLUMN c1_disability int,
    ADD COLUMN dad_death date;
UPDATE hh SET mum_birth = dad_birth + gap * 200,
              kids = CASE WHEN kind < 0.50 THEN 1 ELSE 2 END,
              c1_sex = CASE WHEN kind BETWEEN 0.50 AND 0.62 OR r1 < 0.45 THEN 'female' ELSE 'male' END,
              dad_death = CASE WHEN r4 < 0.03 THEN date '2020-01-01' + floor(r3 * 2000)::int END;
UPDATE hh SET c2_sex = CASE WHEN kind BETWEEN 0.50 AND 0.62 OR r2 < 0.5 THEN 'female' ELSE 'male' END,
              c1_birth = LEAST(mum_birth + (22 * 365 + floor(r2 * 13 * 365))::int, date '2025-12-31'),
              c1_death = CASE WHEN kind BETWEEN 0.35 AND 0.42 THEN date '2015-01-01' + floor(r3 * 3000)::int END,
              c1_disability = CASE WHEN kind BETWEEN 0.42 AND 0.47 THEN 1 + floor(r4 * 3)::int
                                   WHEN kind BETWEEN 0.47 AND 0.50 THEN 4 END;
UPDATE hh SET c2_birth = LEAST(c1_birth + (700 + floor(r1 * 1500))::int, date '2025-12-31') WHERE kids = 2;
UPDATE hh SET c1_death = NULL WHERE c1_death IS NOT NULL AND c1_death <= c1_birth;
INSERT INTO person_facts (person_id, household_id, division_code, sex, birth_date, death_date, relation,
    mother_id, father_id, is_parent, is_child, disability_grade, household_facts_as_of, hukou_type, migrant,
    only_child, single_daughter, two_daughters, bereaved, disabled_only_child, low_income, low_income_kinds,
    certificate_held, children_ever, living_children, living_sons, living_daughters, youngest_child_birth_date,
    mother_birth_date, father_birth_date, father_death_date)
SELECT m.person_id, hh.household_id, hh.division, m.sex, m.birth, m.death, m.relation, m.mother, m.father,
       m.parent, NOT m.parent, m.disability, date '2025-12-01', hh.hukou, false,
       f.only_child, f.only_child AND hh.c1_sex = 'female', hh.kids = 2 AND hh.c1_sex = 'female'
           AND hh.c2_sex = 'female', hh.kids = 1 AND hh.c1_death IS NOT NULL,
       f.only_child AND COALESCE(hh.c1_disability BETWEEN 1 AND 3, false), hh.r3 < 0.05,
       CASE WHEN hh.r3 < 0.05 THEN ARRAY['dibao']::varchar[] ELSE '{}'::varchar[] END,
       f.only_child AND hh.r2 < 0.6, hh.kids, f.living, f.sons, f.living - f.sons,
       CASE WHEN hh.kids = 2 THEN hh.c2_birth WHEN hh.c1_death IS NULL THEN hh.c1_birth END,
       hh.mum_birth, hh.dad_birth, hh.dad_death
FROM hh
CROSS JOIN LATERAL (SELECT hh.kids = 1 AND hh.c1_death IS NULL AS only_child,
                           hh.kids - (hh.c1_death IS NOT NULL)::int AS living,
                           (hh.c1_sex = 'male' AND hh.c1_death IS NULL)::int
                               + (hh.kids = 2 AND hh.c2_sex = 'male')::int AS sons) AS f
CROSS JOIN LATERAL (VALUES
    (md5('p' || hh.h || 'd')::uuid, 'male', hh.dad_birth, hh.dad_death, 'head', NULL::uuid, NULL::uuid, true,
     NULL::int),
    (md5('p' || hh.h || 'm')::uuid, 'female', hh.mum_birth, NULL::date, 'spouse', NULL, NULL, true, NULL),
    (md5('p' || hh.h || 'c1')::uuid, hh.c1_sex, hh.c1_birth, hh.c1_death, 'child', md5('p' || hh.h || 'm')::uuid,
     md5('p' || hh.h || 'd')::uuid, false, hh.c1_disability),
    (CASE WHEN hh.kids = 2 THEN md5('p' || hh.h || 'c2')::uuid END, hh.c2_sex, hh.c2_birth, NULL, 'child',
     md5('p' || hh.h || 'm')::uuid, md5('p' || hh.h || 'd')::uuid, false, NULL)
) AS m(person_id, sex, birth, death, relation, mother, father, parent, disability)
WHERE m.person_id IS NOT NULL;
"""

console_lines: list[str] = []


def say(text: str) -> None:
    print(text, flush=True)


def busy_cores(seconds: float = 1.0) -> float:
    import psutil

    return round(psutil.cpu_percent(interval=seconds) / 100 * (os.cpu_count() or 1), 2)


def wait_until_quiet(max_wait: float, quiet: float) -> float:
    """The machine is shared: wait (up to `max_wait` s) until fewer than `quiet` cores are busy; returns the
    busy cores seen last (recorded beside each measurement)."""
    deadline = time.monotonic() + max_wait
    busy = busy_cores()
    while busy > quiet and time.monotonic() < deadline:
        busy = busy_cores(2.0)
    return busy


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}


async def populate(url: str, persons: int, seed: float) -> dict[str, Any]:
    import asyncpg

    from carekit.db.engine import asyncpg_dsn

    households = math.ceil(persons / 3.45)  # 3.5 persons a household on average: a little over N
    conn = await asyncpg.connect(asyncpg_dsn(url))
    started = time.perf_counter()
    try:
        sql = POPULATION_SQL.replace(":seed", str(seed)).replace(":households", str(households))
        await conn.execute(sql)
        await conn.execute("ANALYZE person_facts")
        count = await conn.fetchval("SELECT count(*) FROM person_facts")
    finally:
        await conn.close()
    return {"households": households, "persons": count, "generate_s": round(time.perf_counter() - started, 1)}


async def sql_path(url: str) -> dict[str, Any]:
    from sqlalchemy import text

    from carekit.db.engine import Database
    from entitlements.domain.sql_compiler import compile_batch
    from entitlements.service.policies import active_policies

    db = Database(url)
    per_policy: dict[str, Any] = {}
    try:
        async with db.sessionmaker() as session, session.begin():
            policies = await active_policies(session)
        async with db.engine.connect() as conn:
            persons = (await conn.execute(text("SELECT count(*) FROM person_facts"))).scalar()
            await conn.execute(text("SET max_parallel_workers_per_gather = 0"))
            total = 0.0
            for checked in policies:
                query = compile_batch(checked, AS_OF)
                wrapped = text(f"SELECT count(*), COALESCE(sum(amount), 0) FROM ({query.sql}) AS q")
                await conn.execute(wrapped, query.params)  # warm
                started = time.perf_counter()
                eligible, amount = (await conn.execute(wrapped, query.params)).one()
                seconds = time.perf_counter() - started
                total += seconds
                per_policy[checked.policy.code] = {"eligible": eligible, "amount": int(amount),
                                                   "seconds": round(seconds, 3)}
    finally:
        await db.engine.dispose()
    decisions = persons * len(per_policy)
    return {"persons": persons, "policies": len(per_policy), "decisions": decisions, "seconds": round(total, 3),
            "decisions_per_s": round(decisions / total), "per_policy": per_policy,
            "note": "one backend, no parallel workers; each query run once to warm, then timed"}


async def cel_path(url: str, sample: int, seed: int) -> dict[str, Any]:
    from sqlalchemy import text

    from carekit.db.engine import Database
    from entitlements.adapters.batch import eligible_population, facts_row
    from entitlements.domain.evaluation import evaluate_population
    from entitlements.service.policies import active_policies

    db = Database(url)
    try:
        async with db.sessionmaker() as session, session.begin():
            policies = await active_policies(session)
            await session.execute(text(f"SELECT setseed({seed / 1e9})"))
            # whole households, so that household policies see every member
            result = await session.execute(text(
                "SELECT pf.* FROM person_facts AS pf WHERE pf.household_id IN "
                "(SELECT household_id FROM person_facts GROUP BY household_id ORDER BY random() LIMIT :n)"),
                {"n": max(1, sample // 3)})
            rows = [facts_row(dict(r._mapping)) for r in result]
        started = time.perf_counter()
        eligible = {c.policy.code: {d.subject_id: d.amount for d in evaluate_population(c, rows, AS_OF) if d.eligible}
                    for c in policies}
        seconds = time.perf_counter() - started
        # the SQL path on exactly these rows must agree
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TEMP TABLE sample_ids AS SELECT DISTINCT household_id FROM person_facts "
                                    "WHERE person_id = ANY(CAST(:ids AS uuid[]))"),
                               {"ids": [r.person_id for r in rows]})
            await conn.execute(text("CREATE TEMP TABLE person_facts AS SELECT pf.* FROM public.person_facts AS pf "
                                    "JOIN sample_ids USING (household_id)"))
            agree = True
            for checked in policies:
                lines = await eligible_population(conn, checked, AS_OF)
                agree &= {line.subject_id: line.amount for line in lines} == eligible[checked.policy.code]
            await conn.rollback()
    finally:
        await db.engine.dispose()
    decisions = len(rows) * len(policies)
    return {"persons": len(rows), "policies": len(policies), "decisions": decisions, "seconds": round(seconds, 3),
            "decisions_per_s": round(decisions / seconds), "agrees_with_sql_on_sample": agree,
            "note": "evaluate_population per policy: Rust CEL programs plus the zh/en explanation of every criterion"}


async def cycle(url: str) -> dict[str, Any]:
    from carekit.db.engine import Database
    from entitlements.domain.cycles import Period
    from entitlements.service.cycles import create_cycle, get_cycle, run_work_items
    from entitlements.service.policies import active_policy

    db = Database(url)
    try:
        started = time.perf_counter()
        async with db.sessionmaker() as session, session.begin():
            checked = await active_policy(session, "rural-reward-assistance")
            cycle_id = await create_cycle(session, checked, Period.parse("2026"), "", "bench")
        items = await run_work_items(db, cycle_id, "bench")
        seconds = time.perf_counter() - started
        async with db.sessionmaker() as session:
            row = await get_cycle(session, cycle_id)
    finally:
        await db.engine.dispose()
    return {"policy": "rural-reward-assistance", "period": "2026", "work_items": items, "lines": row.total_lines,
            "total_amount_fen": int(row.total_amount), "seconds": round(seconds, 2),
            "lines_per_s": round(row.total_lines / seconds)}


async def index_sample(url: str, count: int, vault: Any) -> list[str]:
    """Give `count` random persons an ID number in the blind index (as the registry's events would)."""
    import asyncpg

    from carekit.db.engine import asyncpg_dsn

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        ids = [r[0] for r in await conn.fetch("SELECT person_id FROM person_facts ORDER BY md5(person_id::text) "
                                              "LIMIT $1", count)]
        numbers = [f"3607{i:013d}X" for i in range(len(ids))]
        await conn.executemany("UPDATE person_facts SET id_number_index = $2 WHERE person_id = $1",
                               [(pid, vault.index(n, "id_number")) for pid, n in zip(ids, numbers, strict=True)])
    finally:
        await conn.close()
    return numbers


async def one_at_a_time(base: str, paths: list[str], headers: dict[str, str]) -> dict[str, Any]:
    """What one check costs the service when nothing else is queued (after 20 to warm up)."""
    latencies = []
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as client:
        for i, path in enumerate(paths):
            started = time.perf_counter()
            response = await client.get(path)
            if response.status_code == 200 and i >= 20:
                latencies.append((time.perf_counter() - started) * 1000)
    return {"requests": len(latencies), "p50_ms": pct(latencies, 50), "p99_ms": pct(latencies, 99)}


BARE_APP = '''
from fastapi import FastAPI

app = FastAPI()


@app.get("/v1/eligibility")
async def eligibility(policy: str, id_number: str) -> dict:
    return {"policy": policy, "eligible": False, "valid_until": None}
'''


def group_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by a process and its children (uvicorn's workers)."""
    import psutil

    total = 0.0
    with contextlib.suppress(psutil.NoSuchProcess):
        parent = psutil.Process(pid)
        for proc in [parent, *parent.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                total += times.user + times.system
    return total


def measured_at_rate(base: str, paths: list[str], headers: dict[str, str], options: argparse.Namespace,
                     pid: int) -> dict[str, Any]:
    """The fixed-rate run, plus the server's CPU per request over it (warm-up included)."""
    cpu_before = group_cpu_seconds(pid)
    result = asyncio.run(fixed_rate(base, paths, headers, options.rate, options.seconds))
    requests = options.rate * (options.seconds + 3.0)  # fixed_rate's 3 s warm-up at the same rate
    result["server_cpu_ms_per_request"] = round((group_cpu_seconds(pid) - cpu_before) * 1000 / requests, 3)
    return result


def bare_baseline(tmp: Path, paths: list[str], headers: dict[str, str], options: argparse.Namespace,
                  port: int) -> dict[str, Any]:
    """A bare FastAPI endpoint of the same shape, same workers, same client and rate: the floor."""
    (tmp / "bare_app.py").write_text(BARE_APP)
    log = tmp / "bare.log"
    bare = start_uvicorn(["bare_app:app", "--app-dir", str(tmp), "--port", str(port), "--workers",
                          str(options.workers)], dict(os.environ), log)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}{paths[0]}", bare, log)
        return measured_at_rate(base, paths, headers, options, bare.pid)
    finally:
        stop(bare)


def start_service(env: dict[str, str], port: int, log: Path, workers: int) -> subprocess.Popen:
    return start_uvicorn(["--factory", "entitlements.main:create_app", "--port", str(port), "--workers",
                          str(workers)], env, log)


def main() -> None:  # noqa: PLR0915
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000, help="persons evaluated by the per-subject path")
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes for the service")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--wait-quiet", type=float, default=120.0,
                        help="before each timed part, wait up to this many seconds for the machine to go quiet")
    parser.add_argument("--quiet-cores", type=float, default=0.3)
    parser.add_argument("--results", type=Path, default=RESULTS / "entitlements_batch.json")
    options = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="entitlements-bench-"))
    os.environ["GUANHUAI_DATA_DIR"] = str(tmp)  # dev keys for this run only
    from carekit.db.migrations import upgrade_to_head
    from carekit.devstack.databases import create_database
    from carekit.devstack.servers import EmbeddedNats, EmbeddedPostgres, free_port
    from carekit.pii import build_vault
    from carekit.testing.tokens import TokenFactory
    from entitlements.main import SERVICE_ROOT
    from entitlements.settings import EntitlementsSettings

    results: dict[str, Any] = {"started": datetime.now().isoformat(timespec="seconds"), "machine": machine(),
                               "options": {k: str(v) for k, v in vars(options).items()}}
    pg = nats = service = None
    try:
        pg = EmbeddedPostgres(tmp / "pg").start()
        nats = EmbeddedNats(tmp / "nats").start()
        asyncio.run(create_database(pg.admin_url, "entitlements"))
        url = pg.url("entitlements")
        upgrade_to_head(SERVICE_ROOT, url)
        say("Generating the population…")
        results["population"] = asyncio.run(populate(url, options.persons, (options.seed % 1000) / 1000))
        say(f"population: {results['population']}")

        results["busy_cores_before_sql"] = wait_until_quiet(options.wait_quiet, options.quiet_cores)
        results["sql_path"] = asyncio.run(sql_path(url))
        say(f"SQL path: {results['sql_path']['decisions_per_s']:,} decisions/s "
            f"({results['sql_path']['decisions']:,} in {results['sql_path']['seconds']} s)")
        results["cel_path"] = asyncio.run(cel_path(url, options.sample, options.seed))
        say(f"per-subject path: {results['cel_path']['decisions_per_s']:,} decisions/s "
            f"(agrees with SQL on the sample: {results['cel_path']['agrees_with_sql_on_sample']})")
        results["sql_over_cel"] = round(results["sql_path"]["decisions_per_s"]
                                        / results["cel_path"]["decisions_per_s"], 1)
        results["cycle"] = asyncio.run(cycle(url))
        say(f"cycle: {results['cycle']}")

        settings = EntitlementsSettings(database_url=url, nats_url=nats.url)
        numbers = asyncio.run(index_sample(url, 5000, build_vault(settings)))
        codes = [c for c in ("fee-waiver-benefit-card", "rural-reward-assistance", "exam-bonus-points",
                             "only-child-insurance", "special-assistance-bereaved")]
        rng = random.Random(options.seed)
        paths = [f"/v1/eligibility?policy={rng.choice(codes)}&id_number={n}" for n in numbers]
        rng.shuffle(paths)
        port = free_port()
        env = dict(os.environ, ENTITLEMENTS_DATABASE_URL=url, NATS_URL=nats.url, ENTITLEMENTS_PORT=str(port),
                   ENTITLEMENTS_LOG_LEVEL="WARNING", GUANHUAI_DATA_DIR=str(tmp))
        log = tmp / "entitlements.log"
        service = start_service(env, port, log, options.workers)
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/healthz", service, log)
        # a prefecture-wide remit (赣州 3607) covers every synthetic county of the bench
        headers = TokenFactory().headers(roles=["partner"], agency="bench-hospital", sub="bench-partner",
                                         region="3607", ttl_seconds=3600)
        check = httpx.get(base + paths[0], headers=headers, timeout=10)
        if check.status_code != 200:
            raise RuntimeError(f"eligibility check failed: {check.status_code} {check.text}")
        results["eligibility_one_at_a_time"] = asyncio.run(one_at_a_time(base, paths[:300], headers))
        say(f"eligibility, one at a time: {results['eligibility_one_at_a_time']}")
        results["busy_cores_before_eligibility"] = wait_until_quiet(options.wait_quiet, options.quiet_cores)
        results["bare_fastapi"] = bare_baseline(tmp, paths, headers, options, free_port())
        say(f"bare FastAPI endpoint, same shape: {results['bare_fastapi']}")
        results["eligibility"] = measured_at_rate(base, paths, headers, options, service.pid)
        say(f"eligibility: {results['eligibility']}")
        if results["bare_fastapi"].get("p99_ms"):
            results["eligibility_p99_over_bare"] = round(results["eligibility"]["p99_ms"]
                                                         / results["bare_fastapi"]["p99_ms"], 2)
        results["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        stop(service)
        if nats is not None:
            nats.stop()
        if pg is not None:
            pg.stop()
        if not options.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    results["targets"] = {
        "sql_decisions_per_s": {"target": TARGET_DECISIONS, "met": results.get("sql_path", {}).get(
            "decisions_per_s", 0) >= TARGET_DECISIONS},
        "eligibility_p99_ms": {"target": TARGET_P99_MS, "at_rate": options.rate, "met": (
            results.get("eligibility", {}).get("p99_ms") or 1e9) <= TARGET_P99_MS},
    }
    options.results.parent.mkdir(parents=True, exist_ok=True)
    options.results.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
    say(json.dumps({k: results[k] for k in ("targets", "sql_over_cel") if k in results}, indent=2))


if __name__ == "__main__":
    main()
