"""Stages 2–5 of the year, each only through the services' public APIs and events (the bench reads the
services' databases and JetStream consumers only to know when a stage is finished and to count):

2. facts projected by entitlements (registry events over NATS), every library policy evaluated by the
   SQL path (what bench/entitlements_batch.py measures);
3. the year's cycles of every cash policy created (admin) and approved (another approver) through the
   entitlements API, until relief has collected every batch (`entitlements.cycle.approved` chunks);
4. funds opened and funded, every batch reserved and approved (fund manager), every payment sent to the
   payment simulator and settled by its batch callbacks, then the ledger invariant checked;
5. every SMS queued by notifications delivered to the SMS simulator (receipts back).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

COUNTY = "360702"
YEAR = 2026


class StageTimeout(Exception):
    def __init__(self, what: str, progress: dict[str, Any]) -> None:
        super().__init__(what)
        self.what, self.progress = what, progress


async def until(
    probe: Callable[[], Awaitable[tuple[bool, dict[str, Any]]]],
    limit_s: float,
    what: str,
    progress: Callable[[str], None],
    every: float = 1.0,
) -> dict[str, Any]:
    deadline = time.monotonic() + limit_s
    state: dict[str, Any] = {}
    while True:
        done, state = await probe()
        progress(f"{what}: {state}")
        if done:
            return state
        if time.monotonic() > deadline:
            raise StageTimeout(what, state)
        await asyncio.sleep(every)


class Watch:
    """Counts read from the databases and JetStream, to know when a stage is done."""

    def __init__(self, dsns: dict[str, str], nats_url: str) -> None:
        self.dsns, self.nats_url = dsns, nats_url
        self.conns: dict[str, Any] = {}

    async def __aenter__(self) -> Watch:
        import asyncpg
        import nats

        for name, dsn in self.dsns.items():
            self.conns[name] = await asyncpg.connect(dsn)
        self.nc = await nats.connect(self.nats_url)
        self.js = self.nc.jetstream()
        return self

    async def __aexit__(self, *_: object) -> None:
        for conn in self.conns.values():
            await conn.close()
        await self.nc.close()

    async def value(self, db: str, sql: str, *args: Any) -> Any:
        return await self.conns[db].fetchval(sql, *args)

    async def rows(self, db: str, sql: str, *args: Any) -> list[Any]:
        return await self.conns[db].fetch(sql, *args)

    async def backlog(self, stream: str, durable: str) -> int | None:
        """Messages the consumer has not yet had acknowledged (None: it does not exist yet)."""
        from nats.js.errors import NotFoundError

        try:
            info = await self.js.consumer_info(stream, durable)
        except NotFoundError:
            return None
        return info.num_pending + info.num_ack_pending

    async def stream_messages(self, stream: str) -> int:
        from nats.js.errors import NotFoundError

        try:
            return (await self.js.stream_info(stream)).state.messages
        except NotFoundError:
            return 0


# ---------------------------------------------------------------------------------------------------------
# stage 2
# ---------------------------------------------------------------------------------------------------------
async def wait_projection(watch: Watch, persons: int, limit_s: float, progress) -> dict[str, Any]:  # noqa: ANN001
    """Until the registry has published every event and entitlements has handled them all. On a timeout the
    progress says how far it got: events handled (in the stream minus the consumer's backlog), the rate
    over this wait, and how long the rest would take at that rate."""
    started, first = time.monotonic(), None

    async def probe() -> tuple[bool, dict[str, Any]]:
        nonlocal first
        outbox = await watch.value("registry", "SELECT count(*) FROM outbox")
        backlog = await watch.backlog("REGISTRY", "entitlements-registry-facts")
        projected = await watch.value(
            "entitlements", "SELECT count(*) FROM person_facts WHERE household_facts_as_of IS NOT NULL"
        )
        in_stream = await watch.stream_messages("REGISTRY")
        handled = in_stream - (backlog or 0)
        first = handled if first is None else first
        elapsed = time.monotonic() - started
        rate = (handled - first) / elapsed if elapsed > 1 else None
        left = (backlog or 0) + outbox
        state = {
            "registry_outbox": outbox,
            "consumer_backlog": backlog,
            "persons_projected": projected,
            "of": persons,
            "events_in_stream": in_stream,
            "events_handled": handled,
            "events_per_s_during_wait": round(rate, 1) if rate else None,
            "eta_s_at_that_rate": round(left / rate) if rate else None,
        }
        return outbox == 0 and backlog == 0 and projected >= persons, state

    state = await until(probe, limit_s, "projection", progress, every=5.0)
    state["registry_events"] = await watch.stream_messages("REGISTRY")
    return state


# ---------------------------------------------------------------------------------------------------------
# stage 3
# ---------------------------------------------------------------------------------------------------------
def cash_policies() -> list[dict[str, Any]]:
    """Every cash policy of the library as shipped (the service seeds it as the active versions)."""
    from entitlements.adapters.policy_library import load_library
    from entitlements.domain.cycles import is_paid

    out = []
    for checked in load_library():
        policy = checked.policy
        if is_paid(policy.benefit.kind):
            out.append({"code": policy.code, "kind": policy.benefit.kind.value, "fund": policy.benefit.fund})
    return out


def periods(kind: str, months: int) -> list[str]:
    if kind == "cash_monthly":
        return [f"{YEAR}-{m:02d}" for m in range(1, months + 1)]
    return [str(YEAR)]


async def run_cycles(base: str, tokens, months: int, concurrency: int, progress) -> list[dict[str, Any]]:  # noqa: ANN001
    admin = tokens.headers(roles=["admin"], region=COUNTY, sub="bench-admin", ttl_seconds=7200)
    approver = tokens.headers(roles=["approver"], region=COUNTY, sub="bench-approver", ttl_seconds=7200)
    work = [(p, period) for p in cash_policies() for period in periods(p["kind"], months)]
    gate = asyncio.Semaphore(concurrency)
    results: list[dict[str, Any]] = []

    async def one(client: httpx.AsyncClient, policy: dict[str, Any], period: str) -> None:
        async with gate:
            started = time.perf_counter()
            created = await client.post("/v1/cycles", json={"policy": policy["code"], "period": period}, headers=admin)
            if created.is_error:
                raise RuntimeError(f"cycle {policy['code']} {period}: {created.status_code} {created.text[:400]}")
            cycle = created.json()
            while cycle["status"] == "evaluating":  # with the work queue on, the workers finish it
                await asyncio.sleep(0.5)
                cycle = (await client.get(f"/v1/cycles/{cycle['id']}", headers=admin)).raise_for_status().json()
            evaluated = time.perf_counter()
            approved = await client.post(f"/v1/cycles/{cycle['id']}/approve", headers=approver)
            if approved.is_error:
                raise RuntimeError(f"approve {policy['code']} {period}: {approved.status_code} {approved.text[:400]}")
            body = approved.json()
            results.append(
                {
                    "cycle_id": body["id"],
                    "policy": policy["code"],
                    "period": period,
                    "fund": body["fund"],
                    "lines": body["total_lines"],
                    "amount_fen": body["total_amount"],
                    "chunks": body["chunks"],
                    "create_s": round(evaluated - started, 2),
                    "approve_s": round(time.perf_counter() - evaluated, 2),
                }
            )
            progress(
                f"cycles: {len(results)}/{len(work)} approved ({policy['code']} {period}: "
                f"{body['total_lines']:,} lines)"
            )

    async with httpx.AsyncClient(base_url=base, timeout=1800) as client:
        await asyncio.gather(*(one(client, p, period) for p, period in work))
    return sorted(results, key=lambda r: (r["policy"], r["period"]))


async def wait_batches_collected(
    watch: Watch, cycles: list[dict[str, Any]], limit_s: float, progress
) -> dict[str, Any]:  # noqa: ANN001
    paid = [c for c in cycles if c["lines"] > 0]
    ids = [c["cycle_id"] for c in paid]

    async def probe() -> tuple[bool, dict[str, Any]]:
        rows = await watch.rows(
            "relief", "SELECT status, count(*) AS n FROM batches WHERE cycle_id = ANY($1::uuid[]) GROUP BY status", ids
        )
        by_status = {r["status"]: r["n"] for r in rows}
        collected = sum(n for s, n in by_status.items() if s != "collecting")
        return collected >= len(ids), {"batches": by_status, "of": len(ids)}

    return await until(probe, limit_s, "relief collecting the batches", progress)


# ---------------------------------------------------------------------------------------------------------
# stage 4
# ---------------------------------------------------------------------------------------------------------
async def open_funds(base: str, headers: dict[str, str], needs: dict[str, int]) -> dict[str, Any]:
    """Open every fund the batches draw on (codes as the policy library names them, e.g. FP-REWARD) and
    allocate what they need, through the relief API."""
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        for code, amount in sorted(needs.items()):
            response = await client.post(
                "/v1/funds",
                json={
                    "code": code,
                    "kind": "budget_line",
                    "name_zh": f"{code} 预算",
                    "name_en": f"{code} budget line",
                    "region": COUNTY,
                },
            )
            if response.status_code != 201:
                raise RuntimeError(f"fund {code}: {response.status_code} {response.text[:300]}")
            allocation = await client.post(
                f"/v1/funds/{code}/allocations", json={"amount_fen": amount, "document_no": f"赣财社〔{YEAR}〕1号"}
            )
            if allocation.is_error:
                raise RuntimeError(f"allocation {code}: {allocation.status_code} {allocation.text[:300]}")
    return {"funds": sorted(needs), "allocated_fen": needs}


async def reserve_and_approve(base: str, headers: dict[str, str], batches: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"reserved": 0, "approved": 0}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as client:
        for batch in batches:
            if batch["status"] == "refused":
                response = await client.post(f"/v1/batches/{batch['id']}/reserve")
                if response.is_error:
                    raise RuntimeError(f"reserve {batch['id']}: {response.status_code} {response.text[:300]}")
                counts["reserved"] += 1
            response = await client.post(f"/v1/batches/{batch['id']}/approve")
            if response.is_error:
                raise RuntimeError(f"approve batch {batch['id']}: {response.status_code} {response.text[:300]}")
            counts["approved"] += 1
    return counts


async def batches_of(watch: Watch, cycles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [c["cycle_id"] for c in cycles if c["lines"] > 0]
    rows = await watch.rows(
        "relief",
        "SELECT id::text, cycle_id::text, fund_code, status, total_lines, "
        "total_amount_fen FROM batches WHERE cycle_id = ANY($1::uuid[]) "
        "ORDER BY created_at",
        ids,
    )
    return [dict(r) for r in rows]


async def wait_payments_settled(watch: Watch, batch_ids: list[str], limit_s: float, progress) -> dict[str, Any]:  # noqa: ANN001
    async def probe() -> tuple[bool, dict[str, Any]]:
        rows = await watch.rows(
            "relief",
            "SELECT status, count(*) AS n FROM payments WHERE batch_id = ANY($1::uuid[]) GROUP BY status",
            batch_ids,
        )
        payments = {r["status"]: r["n"] for r in rows}
        batches = await watch.rows(
            "relief", "SELECT status, count(*) AS n FROM batches WHERE id = ANY($1::uuid[]) GROUP BY status", batch_ids
        )
        by_batch = {r["status"]: r["n"] for r in batches}
        return by_batch.get("done", 0) == len(batch_ids), {"payments": payments, "batches": by_batch}

    return await until(probe, limit_s, "payments", progress)


async def wait_relief_outbox(watch: Watch, limit_s: float, progress) -> dict[str, Any]:  # noqa: ANN001
    async def probe() -> tuple[bool, dict[str, Any]]:
        outbox = await watch.value("relief", "SELECT count(*) FROM outbox")
        return outbox == 0, {"relief_outbox": outbox}

    return await until(probe, limit_s, "relief events published", progress)


async def invariant(base: str, headers: dict[str, str]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as client:
        started = time.perf_counter()
        body = (await client.get("/v1/ledger/invariant")).raise_for_status().json()
    return {
        "ok": body.get("ok"),
        "transfers": body.get("transfers"),
        "seconds": round(time.perf_counter() - started, 2),
    }


# ---------------------------------------------------------------------------------------------------------
# stage 5
# ---------------------------------------------------------------------------------------------------------
async def wait_sms(watch: Watch, limit_s: float, progress) -> dict[str, Any]:  # noqa: ANN001
    async def probe() -> tuple[bool, dict[str, Any]]:
        backlog = {
            d: await watch.backlog(s, d)
            for s, d in (("RELIEF", "notifications-relief-events"), ("ENTITLEMENTS", "notifications-decision-events"))
        }
        rows = await watch.rows("notifications", "SELECT state, count(*) AS n FROM messages GROUP BY state")
        states = {r["state"]: r["n"] for r in rows}
        deferred = await watch.value(
            "notifications",
            "SELECT count(*) FROM messages WHERE state = 'queued' AND not_before > now() + interval '60 seconds'",
        )
        pending = states.get("queued", 0) - deferred + states.get("sent", 0)
        drained = all(b == 0 for b in backlog.values())
        return drained and pending == 0, {"consumers": backlog, "messages": states, "deferred": deferred}

    state = await until(probe, limit_s, "SMS", progress)
    rows = await watch.rows(
        "notifications", "SELECT template_code, state, count(*) AS n FROM messages GROUP BY 1, 2 ORDER BY 1, 2"
    )
    state["by_template"] = [dict(r) for r in rows]
    # SMS go out while stages 2-4 run (decisions as facts are projected, payments as they settle): the
    # span from the first message queued to the last receipt, for the payment SMS and for all of them
    for name, where in (("payment_sms", "template_code LIKE 'payment%'"), ("all_sms", "true")):
        row = (
            await watch.rows(
                "notifications",
                f"SELECT count(*) AS n, min(created_at) AS first, max(final_at) AS last FROM messages WHERE {where}",
            )
        )[0]
        span = (row["last"] - row["first"]).total_seconds() if row["n"] and row["last"] else None
        state[name] = {
            "messages": row["n"],
            "span_s": round(span, 2) if span is not None else None,
            "first_queued": row["first"],
            "last_final": row["last"],
        }
    return state
