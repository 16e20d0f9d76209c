"""Acceptance of the SMS pipeline on real PostgreSQL and NATS, with the REAL registry (its own migrated
database, phones read through contract C1) and the SMS gateway simulator over HTTP.

Events are published on the producers' streams as their outbox relays would publish them.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest_asyncio
from notifications_support import COUNTY, VILLAGE, publish, relief_event, settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from stdnum.cn import ric

from carekit.db.engine import sqlalchemy_url
from carekit.devstack.catalogue import service_app
from carekit.events.envelope import new_event
from notifications.domain.delivery import CHINA
from notifications.main import create_app as create_notifications
from simulators.sms.app import create_app as create_sms_simulator
from simulators.testing import running_simulator

PHONE_A, PHONE_B = "13800138000", "13900139000"


class MovableClock:
    """Real time shifted by an offset the test moves (to stand at night in China, then in the morning)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def stand_at_china(self, hour: int, minute: int = 0) -> datetime:
        now = datetime.now(UTC)
        local = now.astimezone(CHINA)
        target = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if target <= local:
            target += timedelta(days=1)
        self.offset = target - now
        return target

    def jump_to(self, moment: datetime) -> None:
        self.offset = moment - datetime.now(UTC)


@dataclass
class Stack:
    api: httpx.AsyncClient
    sim: httpx.AsyncClient
    app: object
    clock: MovableClock
    db_url: str
    people: dict[str, str]
    household_id: str

    async def sim_messages(self, phone: str) -> list[dict]:
        return (await self.sim.get("/_sim/messages", params={"phone": "+86" + phone})).json()["messages"]

    async def messages(self, tokens, event_id: str) -> list[dict]:  # noqa: ANN001
        response = await self.api.get(
            "/v1/messages", params={"event_id": event_id}, headers=tokens.headers(roles=["ops"], region=COUNTY)
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def wait_messages(self, tokens, event_id: str, done, wait_s: float = 15.0) -> list[dict]:  # noqa: ANN001
        for _ in range(int(wait_s / 0.1)):
            found = await self.messages(tokens, event_id)
            if found and done(found):
                return found
            await asyncio.sleep(0.1)
        raise AssertionError(f"messages of {event_id} never settled: {await self.messages(tokens, event_id)}")

    async def sql(self, statement: str, **params) -> list:  # noqa: ANN003
        engine = create_async_engine(sqlalchemy_url(self.db_url))
        try:
            async with engine.connect() as conn:
                return list(await conn.execute(text(statement), params))
        finally:
            await engine.dispose()


def resident_id(birth: date, *, female: bool, serial: int) -> str:
    body = f"{COUNTY}{birth:%Y%m%d}{serial * 10 + (2 if female else 1):03d}"
    return body + ric.calc_check_digit(body + "0")


async def register_family(registry_url: str, tokens) -> tuple[str, dict[str, str]]:  # noqa: ANN001
    headers = tokens.headers(roles=["caseworker"], region=COUNTY, sub="cw-1")
    async with httpx.AsyncClient(base_url=registry_url, headers=headers) as client:
        household = await client.post(
            "/v1/households", json={"division_code": VILLAGE, "hukou_type": "rural", "address": "章贡区某村1号"}
        )
        assert household.status_code == 201, household.text
        hid = household.json()["id"]
        people = {}
        for key, name, relation, birth, female, phone in [
            ("father", "王建国", "head", date(1966, 5, 1), False, PHONE_A),
            ("mother", "李秀英", "spouse", date(1968, 3, 2), True, PHONE_B),
        ]:
            person = await client.post(
                "/v1/persons",
                json={
                    "household_id": hid,
                    "name": name,
                    "relation": relation,
                    "phone": phone,
                    "id_number": resident_id(birth, female=female, serial=len(people) + 1),
                },
            )
            assert person.status_code == 201, person.text
            people[key] = person.json()["id"]
        return hid, people


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(migrated_database, nats_url, tokens) -> AsyncIterator[Stack]:  # noqa: ANN001
    registry_app = service_app(  # the real registry (our own infrastructure), started by name
        "registry", database_url=await migrated_database("registry"), nats_url=nats_url, environment="test"
    )
    db_url = await migrated_database("notifications")
    clock = MovableClock()
    clock.stand_at_china(10)
    async with (
        running_simulator(lambda: registry_app) as registry_url,
        running_simulator(create_sms_simulator, receipt_delay_ms=20) as sim_url,
    ):
        app = create_notifications(
            settings(
                db_url,
                nats_url,
                registry_url=registry_url,
                aliyun_url=sim_url + "/aliyun",
                tencent_url=sim_url + "/tencent",
                sender_retry_base_seconds=0.05,
            ),
            clock=clock,
        )
        async with (
            running_simulator(lambda: app) as notifications_url,
            httpx.AsyncClient(base_url=sim_url) as sim,
            httpx.AsyncClient(base_url=notifications_url) as api,
        ):
            await app.state.runtime.wait_until_running()
            urls = {
                f"{p}_{k}_url": f"{notifications_url}/v1/providers/{p}/{k}"
                for p in ("aliyun", "tencent")
                for k in ("receipts", "inbound")
            }
            assert (await sim.put("/_sim/urls", json=urls)).status_code == 200
            hid, people = await register_family(registry_url, tokens)
            yield Stack(api, sim, app, clock, db_url, people, hid)


def decision(person_id: str, household_id: str, kind: str = "granted", subject: str = "person"):  # noqa: ANN201
    return new_event(
        f"entitlements.decision.{kind}",
        {
            "policy": "rural_reward",
            "policy_version": 1,
            "subject": subject,
            "subject_id": person_id if subject == "person" else household_id,
            "household_id": household_id,
            "eligible": kind != "revoked",
            "amount": 96000,
            "previous_amount": None,
            "unit": "fen_per_year",
            "benefit_kind": "cash_yearly",
            "fund": "care_fund",
            "effective_date": "2026-12-01",
            "evaluated_on": "2026-11-24",
            "reason": "符合条件",
        },
        source="/guanhuai/entitlements",
        subject=f"rural_reward/{person_id}",
    )


def application_paid(stack: Stack, person: str):  # noqa: ANN201
    return relief_event(
        "relief.application.paid",
        {
            "application_id": str(uuid.uuid4()),
            "household_id": stack.household_id,
            "applicant_person_id": stack.people[person],
            "region_code": VILLAGE,
            "reason_code": "illness",
            "amount_fen": 200000,
            "step": "paid",
            "actor": "approver-1",
            "occurred_at": datetime.now(UTC).isoformat(),
        },
    )


def settled(states: set[str]):  # noqa: ANN201
    return lambda found: all(m["state"] in states for m in found)


async def test_a_decision_event_produces_exactly_one_sms(stack: Stack, tokens, nats_url) -> None:  # noqa: ANN001
    event = decision(stack.people["father"], stack.household_id)
    await publish(nats_url, event)
    await publish(nats_url, event)  # a redelivery must not send twice
    [message] = await stack.wait_messages(tokens, str(event.id), settled({"delivered"}))
    assert message["template_code"] == "decision_granted" and message["provider"] == "aliyun"
    assert message["parts"] == 1 or message["parts"] == 2
    [sms] = await stack.sim_messages(PHONE_A)
    assert sms["message_id"] == message["id"] and sms["sign_name"] == "XX县卫健委"
    assert sms["template_id"] == "SMS_DECISION_GRANTED"
    assert sms["params"]["name"] == "王建国" and sms["params"]["amount_yuan"] == "960.00"
    await asyncio.sleep(0.5)
    assert len(await stack.sim_messages(PHONE_A)) == 1
    # The number is never stored here in plain text (only its blind index).
    [(leaks,)] = await stack.sql("SELECT count(*) FROM messages WHERE messages::text LIKE :p", p=f"%{PHONE_A[3:]}%")
    assert leaks == 0


async def test_a_household_decision_goes_to_the_head(stack: Stack, tokens, nats_url) -> None:  # noqa: ANN001
    before = len(await stack.sim_messages(PHONE_A))
    event = decision(stack.people["father"], stack.household_id, kind="changed", subject="household")
    await publish(nats_url, event)
    [message] = await stack.wait_messages(tokens, str(event.id), settled({"sent", "delivered"}))
    assert message["person_id"] == stack.people["father"]
    assert len(await stack.sim_messages(PHONE_A)) == before + 1


async def test_in_quiet_hours_a_notice_is_deferred_to_the_morning(stack: Stack, tokens, nats_url) -> None:  # noqa: ANN001
    night = stack.clock.stand_at_china(22, 30)
    before = len(await stack.sim_messages(PHONE_B))
    event = decision(stack.people["mother"], stack.household_id)
    await publish(nats_url, event)
    [message] = await stack.wait_messages(tokens, str(event.id), lambda f: f[0]["last_error"] is not None)
    morning = (night + timedelta(days=1)).replace(hour=8, minute=0) if night.hour >= 21 else night
    assert message["state"] == "queued" and "quiet hours" in message["last_error"]
    assert datetime.fromisoformat(message["not_before"]) == morning.replace(hour=8, minute=0)
    await asyncio.sleep(0.3)
    assert len(await stack.sim_messages(PHONE_B)) == before
    stack.clock.jump_to(datetime.fromisoformat(message["not_before"]) + timedelta(minutes=1))
    await stack.wait_messages(tokens, str(event.id), settled({"sent", "delivered"}))
    assert len(await stack.sim_messages(PHONE_B)) == before + 1


async def test_after_opt_out_marketing_is_not_sent_but_a_statutory_notice_is(stack: Stack, tokens, nats_url) -> None:  # noqa: ANN001
    pushed = await stack.sim.post("/_sim/inbound", json={"provider": "tencent", "phone": PHONE_A, "text": "退订"})
    assert pushed.status_code == 202
    for _ in range(100):
        if (await stack.sql("SELECT count(*) FROM opt_outs"))[0][0] == 1:
            break
        await asyncio.sleep(0.05)
    before = len(await stack.sim_messages(PHONE_A))
    event = application_paid(stack, "father")
    await publish(nats_url, event)
    found = await stack.wait_messages(
        tokens, str(event.id), lambda f: len(f) == 2 and all(m["state"] != "queued" for m in f)
    )
    states = {m["template_code"]: (m["state"], m["last_error"]) for m in found}
    assert states["satisfaction_survey"] == ("suppressed", "opted out of marketing")
    assert states["application_paid"][0] in ("sent", "delivered")
    after = await stack.sim_messages(PHONE_A)
    assert [m["template_id"] for m in after[before:]] == ["SMS_APPLICATION_PAID"]


async def test_survey_scores_are_reported_by_township(stack: Stack, tokens, nats_url) -> None:  # noqa: ANN001
    event = application_paid(stack, "mother")
    await publish(nats_url, event)
    await stack.wait_messages(tokens, str(event.id), lambda f: len(f) == 2 and settled({"sent", "delivered"})(f))
    pushed = await stack.sim.post("/_sim/inbound", json={"provider": "aliyun", "phone": PHONE_B, "text": "５"})
    assert pushed.status_code == 202
    headers = tokens.headers(roles=["caseworker"], region=COUNTY)
    for _ in range(100):
        report = (await stack.api.get("/v1/reports/satisfaction", headers=headers)).json()
        if report["townships"]:
            break
        await asyncio.sleep(0.05)
    assert report == {
        "region": COUNTY,
        "target_percent": 90,
        "townships": [
            {"township": VILLAGE[:9], "responses": 1, "satisfied": 1, "percent": 100.0, "meets_target": True}
        ],
    }
    outside = await stack.api.get("/v1/reports/satisfaction", params={"region": "3607"}, headers=headers)
    assert outside.status_code == 403


async def test_an_unknown_receipt_is_recorded_and_counted(stack: Stack) -> None:
    body = [
        {
            "phone_number": PHONE_A,
            "send_time": "2026-11-24 10:00:00",
            "report_time": "2026-11-24 10:00:05",
            "success": True,
            "err_code": "DELIVERED",
            "err_msg": "用户接收成功",
            "sms_size": "1",
            "biz_id": "no-such-biz",
            "out_id": "no-such-message",
        }
    ]
    response = await stack.api.post("/v1/providers/aliyun/receipts", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == 1 and response.json()["matched"] == 0
    [(reason, reference)] = await stack.sql("SELECT reason, reference FROM rejected_callbacks WHERE kind = 'receipt'")
    assert (reason, reference) == ("unknown message", "no-such-biz")
    metrics = (await stack.api.get("/metrics")).text
    assert 'notifications_rejected_callbacks_total{kind="receipt",provider="aliyun"' in metrics
    garbage = await stack.api.post("/v1/providers/aliyun/receipts", content=b"not json")
    assert garbage.status_code == 400 and garbage.headers["content-type"] == "application/problem+json"


async def test_a_provider_outage_fails_over_to_the_second_provider(stack: Stack, tokens, nats_url) -> None:  # noqa: ANN001
    aliyun = stack.app.state.workers.providers["aliyun"]
    endpoint, aliyun.endpoint = aliyun.endpoint, "http://127.0.0.1:9/aliyun"  # nothing listens there
    try:
        event = decision(stack.people["mother"], stack.household_id, kind="revoked")
        await publish(nats_url, event)
        [message] = await stack.wait_messages(tokens, str(event.id), settled({"sent", "delivered"}))
    finally:
        aliyun.endpoint = endpoint
    assert message["provider"] == "tencent" and message["attempts"] == 2
    tencent = [m for m in await stack.sim_messages(PHONE_B) if m["message_id"] == message["id"]]
    assert [m["provider"] for m in tencent] == ["tencent"]


async def test_the_daily_cap_per_number_and_template_suppresses_the_excess(stack: Stack, tokens, nats_url) -> None:  # noqa: ANN001
    settings_ = stack.app.state.workers.sender.settings
    cap, settings_.per_number_daily_cap = settings_.per_number_daily_cap, 1
    try:
        later = (stack.clock() + timedelta(days=2)).astimezone(CHINA).replace(hour=12, minute=0)
        stack.clock.jump_to(later)  # a China day of its own: nothing counted yet
        first, second = (decision(stack.people["father"], stack.household_id) for _ in range(2))
        await publish(nats_url, first)
        await stack.wait_messages(tokens, str(first.id), settled({"sent", "delivered"}))
        await publish(nats_url, second)
        [message] = await stack.wait_messages(tokens, str(second.id), settled({"suppressed"}))
    finally:
        settings_.per_number_daily_cap = cap
    assert message["last_error"] == "daily cap for this template reached"


async def test_batched_sends_match_receipts_by_provider_id_and_number(stack: Stack, tokens, nats_url) -> None:  # noqa: ANN001
    aliyun = stack.app.state.workers.providers["aliyun"]
    aliyun.batch_size = 100  # SendBatchSms: receipts carry the BizId and the number, not our id
    try:
        events = [decision(stack.people[p], stack.household_id, kind="changed") for p in ("father", "mother")]
        for event in events:
            await publish(nats_url, event)
        found = [(await stack.wait_messages(tokens, str(e.id), settled({"delivered"})))[0] for e in events]
    finally:
        aliyun.batch_size = 1
    assert all(m["provider"] == "aliyun" for m in found)
    refs = {m["provider_message_id"] for m in found}
    sims = [m for p in (PHONE_A, PHONE_B) for m in await stack.sim_messages(p) if m["provider_message_id"] in refs]
    assert sorted(m["phone"] for m in sims) == ["+86" + PHONE_A, "+86" + PHONE_B]
    assert all(m["message_id"] is None for m in sims)  # the simulator saw no OutId: matched by BizId + number


async def test_callbacks_need_the_token_when_one_is_configured(stack: Stack) -> None:
    from pydantic import SecretStr

    settings_ = stack.app.state.settings
    settings_.provider_callback_token = SecretStr("callback-token-0123456789")
    try:
        refused = await stack.api.post("/v1/providers/tencent/inbound", json=[])
        accepted = await stack.api.post("/v1/providers/tencent/inbound?token=callback-token-0123456789", json=[])
    finally:
        settings_.provider_callback_token = None
    assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
    assert accepted.status_code == 200, accepted.text
