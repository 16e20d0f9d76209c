"""Event-driven decisions over real NATS: a death reported by the registry revokes and grants, once."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import jsonschema
import nats
import pytest_asyncio
from registry_events import Household, Person, Registry, fetch, wait_for

from carekit.testing.service import running
from entitlements.main import create_app
from entitlements.service.decisions import today_in_china
from entitlements.settings import EntitlementsSettings

SCHEMAS = Path(__file__).resolve().parents[3] / "notifications/src/notifications/catalogue/schemas"
CATALOGUE = {t: json.loads((SCHEMAS / f"{t}.json").read_text(encoding="utf-8"))["schema"]
             for t in ("entitlements.decision.granted", "entitlements.decision.changed",
                       "entitlements.decision.revoked")}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def service(migrated_database, nats_url) -> AsyncIterator[str]:
    url = await migrated_database("entitlements")
    app = create_app(EntitlementsSettings(database_url=url, nats_url=nats_url, environment="test",
                                          outbox_poll_seconds=0.2, consumer_backoff_seconds=0.05))
    async with running(app):
        yield url


def years_before(day: date, years: int) -> date:
    return day.replace(year=day.year - years, day=min(day.day, 28))


class Listener:
    """Every decision event the relay publishes, as it is published (core NATS)."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str, dict]] = []

    async def receive(self, msg) -> None:  # noqa: ANN001
        body = json.loads(msg.data)
        self.seen.append((time.monotonic(), body["type"], body["data"]))

    def of(self, kind: str, policy: str) -> list[dict]:
        return [d for _, t, d in self.seen if t == f"entitlements.decision.{kind}" and d["policy"] == policy]


async def stream_decisions(url: str) -> list[tuple[str, dict]]:
    """Everything on the ENTITLEMENTS stream (exactly what downstream consumers would get)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe("entitlements.decision.>", stream="ENTITLEMENTS")
        found: list[tuple[str, dict]] = []
        while True:
            try:
                msgs = await sub.fetch(100, timeout=0.5)
            except (TimeoutError, nats.errors.TimeoutError):
                return found
            for msg in msgs:
                body = json.loads(msg.data)
                found.append((body["type"], body["data"]))
                await msg.ack()
    finally:
        await nc.close()


async def test_death_of_an_only_child_revokes_and_grants_exactly_once(service: str, nats_url: str) -> None:
    today = today_in_china()
    home = Household()
    dad = Person("dad", "male", years_before(today, 53), "head")
    mum = Person("mum", "female", years_before(today, 52), "spouse")
    son = Person("son", "male", years_before(today, 15), "child", mother=mum, father=dad)
    listener = Listener()
    nc = await nats.connect(nats_url)
    await nc.subscribe("entitlements.decision.>", cb=listener.receive)
    try:
        async with Registry(nats_url) as registry:
            await registry.publish(home.registered(), *(home.person("registry.person.registered", p)
                                                        for p in (dad, mum, son)),
                                   home.facts([dad, mum], [son], as_of=today, certificate=True))
            await wait_for(lambda: _has(listener, "granted", "only-child-parents-reward-fee"), what="reward granted")
            assert listener.of("granted", "only-child-parents-reward-fee")[0]["subject_id"] == home.id
            assert not listener.of("granted", "special-assistance-bereaved")

            son.death = today
            died = home.person("registry.person.died", son, kind="death", effective_date=today.isoformat())
            facts = home.facts([dad, mum], [son], as_of=today, certificate=True)
            start = time.monotonic()
            await registry.publish(died, facts)

            async def revoked_and_granted() -> bool:
                return (len(listener.of("revoked", "only-child-parents-reward-fee")) == 1
                        and len(listener.of("granted", "special-assistance-bereaved")) == 2)
            await wait_for(revoked_and_granted, timeout=5, what="revocation and grant")
            latest = max(t for t, _, d in listener.seen if d["policy"] in (
                "only-child-parents-reward-fee", "special-assistance-bereaved"))
            assert latest - start < 2.0, f"took {latest - start:.2f}s"

            revoked = listener.of("revoked", "only-child-parents-reward-fee")[0]
            assert revoked["subject"] == "household" and revoked["effective_date"] == today.isoformat()
            assert revoked["reason"].startswith("registry.")
            assert revoked["unmet"][0]["zh"].startswith("不符合：不是独生子女户"), revoked["unmet"]
            assert all(line["en"].startswith("Not met") for line in revoked["unmet"])
            granted = listener.of("granted", "special-assistance-bereaved")
            assert {g["subject_id"] for g in granted} == {dad.id, mum.id}
            assert all(g["amount"] == 17000 and g["unit"] == "fen" for g in granted)
            # what a message needs: the policy's names from the library, an amount only for cash
            assert all(g["policy_name"] == {"zh": "计划生育家庭特别扶助（独生子女死亡）",
                                            "en": "Special assistance for family-planning families whose only"
                                                  " child died"} and g["benefit_kind"] == "cash_monthly"
                       for g in granted)
            [priority] = listener.of("granted", "relief-priority")
            assert priority["benefit_kind"] == "priority_flag" and priority["amount"] is None
            assert priority["policy_name"]["zh"] == "计划生育特殊家庭优先救助" and priority["fund"] is None
            assert priority["head_person_id"] == dad.id  # a notice about the household goes to its head

            # the same facts again (a new event), and the death redelivered: nothing new is decided
            await registry.publish(home.facts([dad, mum], [son], as_of=today, certificate=True))
            await registry.js.publish(died.type, died.to_json(), headers={"Nats-Msg-Id": f"{died.id}-again"})
            await asyncio.sleep(1.5)
    finally:
        await nc.close()

    on_stream = await stream_decisions(nats_url)
    mine = [(t, d) for t, d in on_stream if d["household_id"] == home.id]
    counts: dict[tuple[str, str, str], int] = {}
    for t, d in mine:
        key = (t.rsplit(".", 1)[1], d["policy"], d["subject_id"])
        counts[key] = counts.get(key, 0) + 1
    assert counts[("revoked", "only-child-parents-reward-fee", home.id)] == 1
    assert counts[("granted", "special-assistance-bereaved", dad.id)] == 1
    assert counts[("granted", "special-assistance-bereaved", mum.id)] == 1
    assert all(n == 1 for n in counts.values()), counts
    for t, d in mine:  # every decision validates against the published event catalogue
        jsonschema.validate(d, CATALOGUE[t])
    # partners' webhook subscriptions filter on where the family is registered and where it lives
    assert all(d["region_code"] == home.division and d["residence_region_code"] == home.residence for _, d in mine)
    stored = await fetch(service, "SELECT policy_code, eligible FROM decisions WHERE household_id = $1::uuid "
                                  "AND policy_code = 'only-child-parents-reward-fee'", home.id)
    assert [tuple(r) for r in stored] == [("only-child-parents-reward-fee", False)]


async def _has(listener: Listener, kind: str, policy: str) -> bool:
    return bool(listener.of(kind, policy))
