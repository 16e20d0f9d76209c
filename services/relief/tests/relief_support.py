"""A running relief service on real PostgreSQL and NATS, and helpers to seed its ledger.

The `relief` fixture reaches every test module through conftest.py; modules import the helpers they use.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest_asyncio

from carekit.devstack.catalogue import service_app
from carekit.testing.service import running, serving
from relief.main import create_app
from relief.settings import ReliefSettings

COUNTY = "360702"
VILLAGE = "360702001001"


def relief_settings(url: str, nats_url: str, **overrides) -> ReliefSettings:  # noqa: ANN003
    return ReliefSettings(database_url=url, nats_url=nats_url, environment="test", outbox_poll_seconds=0.2, **overrides)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def relief(migrated_database, nats_url) -> AsyncIterator:  # noqa: ANN001
    url = await migrated_database("relief")
    app = create_app(relief_settings(url, nats_url))
    app.state.test_database_url = url
    async with running(app) as client:
        client.app = app
        yield client


async def open_accounts(app, *accounts: tuple[str, str, bool], region: str | None = COUNTY) -> None:  # noqa: ANN001
    """Open ledger accounts (code, kind, guarded) of `region` straight through the service layer."""
    from relief.service.ledger import ensure_account

    async with app.state.runtime.uow() as uow:
        for code, kind, guarded in accounts:
            await ensure_account(uow.session, code, kind, code, code, guarded=guarded, region=region)
        await uow.commit()


# --- disbursement: a real registry, the payment simulator, relief served on a port for callbacks ---

import asyncio  # noqa: E402
import contextlib  # noqa: E402
import itertools  # noqa: E402
import uuid  # noqa: E402
from datetime import date  # noqa: E402

import httpx  # noqa: E402
import nats  # noqa: E402
from stdnum import luhn  # noqa: E402
from stdnum.cn import ric  # noqa: E402

from carekit.events.envelope import new_event  # noqa: E402

MERCHANT, SECRET = "guanhuai-relief", "test-callback-secret-0123456789"
_serial = itertools.count(1)


def card(n: int) -> str:
    body = f"622202{n:012d}"
    return body + luhn.calc_check_digit(body)


def resident_id(birth: date, serial: int) -> str:
    body = f"{COUNTY}{birth:%Y%m%d}{serial % 999 + 1:03d}"
    return body + ric.calc_check_digit(body + "0")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def registry_people(migrated_database, nats_url, tokens) -> AsyncIterator[tuple[str, list[dict]]]:  # noqa: ANN001
    """The REAL registry app on its own migrated database, served on a port; a few payees in it:
    living persons with bank cards, and one who died on 2026-01-01."""
    from simulators.testing import running_simulator

    url = await migrated_database("registry")
    app = service_app("registry", database_url=url, nats_url=nats_url, environment="test")
    async with running_simulator(lambda: app) as base:
        headers = tokens.headers(roles=["caseworker"], region=COUNTY, sub="cw-reg")
        people: list[dict] = []
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
            for n in range(6):
                r = await client.post(
                    "/v1/households", json={"division_code": VILLAGE, "hukou_type": "rural", "address": f"某村{n}号"}
                )
                assert r.status_code == 201, r.text
                serial = next(_serial) * 7 + n
                person = {
                    "household_id": r.json()["id"],
                    "name": ["王建国", "李秀英", "张小三", "欧阳明", "赵四", "钱五"][n],
                    "relation": "head",
                    "id_number": resident_id(date(1960, 1, 1 + n), serial),
                    "bank_card": card(serial),
                }
                r = await client.post("/v1/persons", json=person)
                assert r.status_code == 201, r.text
                people.append(r.json() | {"household_id": person["household_id"]})
            r = await client.post(
                f"/v1/persons/{people[-1]['id']}/events", json={"kind": "death", "effective_date": "2026-01-01"}
            )
            assert r.status_code == 201, r.text
        yield base, people


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def relief_and_registry(migrated_database, nats_url, registry_people) -> AsyncIterator:  # noqa: ANN001
    """The relief app asking the REAL registry (served on a port) about households; `client.people`
    are the registry's persons, each the head of a household of VILLAGE (the last one died)."""
    base, people = registry_people
    url = await migrated_database("relief")
    app = create_app(relief_settings(url, nats_url, registry_url=base))
    async with running(app) as client:
        client.app = app
        client.people = people
        yield client


async def publish_cycle(
    nats_url: str,
    lines: list[dict],
    *,
    policy: str = "rural_reward",
    period: str = "2026",
    fund: str = "care_fund",
    chunk_size: int = 1000,
    approved_by: str = "ent-approver",
    cycle_id: str | None = None,
    repeat_first: bool = False,
) -> str:
    """`entitlements.cycle.approved` chunks as the entitlements service publishes them (contract C2)."""
    cycle_id = cycle_id or str(uuid.uuid4())
    chunks = [lines[i : i + chunk_size] for i in range(0, len(lines), chunk_size)]
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    with contextlib.suppress(Exception):  # it exists
        await js.add_stream(name="ENTITLEMENTS", subjects=["entitlements.>"])
    for n, chunk in enumerate(chunks, start=1):
        event = new_event(
            "entitlements.cycle.approved",
            {
                "cycle_id": cycle_id,
                "policy_code": policy,
                "policy_version": 1,
                "period": period,
                "fund": fund,
                "benefit_kind": "cash_yearly",
                "chunk": n,
                "chunks": len(chunks),
                "total_lines": len(lines),
                "total_amount_fen": sum(ln["amount_fen"] for ln in lines),
                "approved_by": approved_by,
                "approved_at": "2026-11-24T08:00:00+08:00",
                "lines": chunk,
            },
            source="/guanhuai/entitlements",
            subject=f"{cycle_id}/{n}",
        )
        await js.publish(event.type, event.to_json(), headers={"Nats-Msg-Id": str(event.id)})
        if repeat_first and n == 1:  # the same chunk again under another event id: must be idempotent
            again = new_event(event.type, event.data, source=event.source, subject=event.subject)
            await js.publish(again.type, again.to_json(), headers={"Nats-Msg-Id": str(again.id)})
    await nc.close()
    return cycle_id


def lines_for(people: list[dict], count: int, amount: int = 96_000) -> list[dict]:
    """`count` lines, each for its own subject, with payees drawn from `people` in turn."""
    return [
        {
            "line_id": str(uuid.uuid4()),
            "subject_kind": "household",
            "subject_id": str(uuid.uuid4()),
            "payee_person_id": people[i % len(people)]["id"],
            "household_id": people[i % len(people)]["household_id"],
            "region_code": VILLAGE,
            "amount_fen": amount,
        }
        for i in range(count)
    ]


async def wait_for(probe, timeout: float = 30.0, every: float = 0.1):  # noqa: ANN001, ANN201, ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s")
        await asyncio.sleep(every)


def serve(app, port: int = 0):  # noqa: ANN001, ANN201
    """The kit's `serving`, without waiting for NATS (tests here wait for what they need themselves)."""
    return serving(app, port=port, wait_for_nats=False)


@asynccontextmanager
async def served_relief(
    db_url: str, nats_url: str, sim_url: str, registry_url: str, port: int = 0, **overrides
) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:  # noqa: ANN003
    """The relief app under uvicorn (the simulator calls it back), the simulator's merchant pointed at
    it; yields its base URL and a client."""
    batch_callbacks = overrides.pop("batch_callbacks", False)
    settings = relief_settings(
        db_url,
        nats_url,
        payment_provider_url=sim_url,
        registry_url=registry_url,
        payment_merchant_id=MERCHANT,
        payment_callback_secret=SECRET,
        payment_timeout_seconds=overrides.pop("payment_timeout_seconds", 5.0),
        sender_poll_seconds=0.2,
        query_after_seconds=overrides.pop("query_after_seconds", 2.0),
        **overrides,
    )
    app = create_app(settings)
    async with serve(app, port) as base:
        async with httpx.AsyncClient(timeout=30) as sim:
            r = await sim.put(
                f"{sim_url}/_sim/merchants/{MERCHANT}",
                json={
                    "callback_url": f"{base}/v1/provider-callbacks/simulator",
                    "secret": SECRET,
                    "batch_callbacks": batch_callbacks,
                },
            )
            assert r.status_code == 200, r.text
        await app.state.runtime.wait_until_running()
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            client.app = app
            yield base, client
