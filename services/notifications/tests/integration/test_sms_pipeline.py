"""Acceptance of the SMS pipeline on real PostgreSQL and NATS, with the REAL registry (its own migrated
database, phones read through contract C1) and the SMS gateway simulator over HTTP.

Events are published on the producers' streams as their outbox relays would publish them.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from notifications_support import COUNTY, VILLAGE, publish, relief_event, settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from stdnum.cn import ric

from carekit.db.engine import sqlalchemy_url
from carekit.devstack.catalogue import service_app
from carekit.events.envelope import new_event
from notifications.domain.delivery import CHINA
from notifications.domain.phones import PHONE_INDEX_PURPOSE
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

    async def write(self, statement: str, **params) -> None:  # noqa: ANN003
        engine = create_async_engine(sqlalchemy_url(self.db_url))
        try:
            async with engine.begin() as conn:
                await conn.execute(text(statement), params)
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
                parked_receipt_sweep_seconds=3600,  # the tests sweep themselves
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
            "policy": "rural-reward-assistance",
            "policy_name": {"zh": "农村部分计划生育家庭奖励扶助", "en": "Rural family-planning reward assistance"},
            "policy_version": 1,
            "subject": subject,
            "subject_id": person_id if subject == "person" else household_id,
            "household_id": household_id,
            "eligible": kind != "revoked",
            "amount": 96000,
            "previous_amount": None,
            "unit": "fen",
            "benefit_kind": "cash_yearly",
            "fund": "FP-REWARD",
            "effective_date": "2026-12-01",
            "evaluated_on": "2026-11-24",
            "reason": "符合条件",
        },
        source="/guanhuai/entitlements",
        subject=f"rural-reward-assistance/{person_id}",
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


@pytest.fixture(autouse=True)
def clock_put_back(stack: Stack) -> Iterator[None]:
    """A test that moves the clock puts it back: moves add up otherwise, and where the run starts in China's
    evening they pass the messages' time to live (real `created_at`, moved `now`) and later tests' messages
    expire unsent."""
    offset = stack.clock.offset
    yield
    stack.clock.offset = offset


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
    assert sms["params"]["name"] == "王建国"
    assert sms["params"]["benefits"] == "农村部分计划生育家庭奖励扶助，每年960.00元"
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


def aliyun_receipt(biz_id: str, phone: str, *, out_id: str = "", success: bool = True) -> dict:
    return {
        "phone_number": phone,
        "send_time": "2026-11-24 10:00:00",
        "report_time": "2026-11-24 10:00:05",
        "success": success,
        "err_code": "DELIVERED" if success else "MI:0013",
        "err_msg": "用户接收成功" if success else "失败",
        "sms_size": "1",
        "biz_id": biz_id,
        "out_id": out_id,
    }


async def test_a_receipt_naming_no_message_is_recorded_and_counted(stack: Stack) -> None:
    body = [aliyun_receipt("", PHONE_A, out_id="no-such-message")]
    response = await stack.api.post("/v1/providers/aliyun/receipts", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == 1 and response.json()["matched"] == 0
    [(reason,)] = await stack.sql("SELECT reason FROM rejected_callbacks WHERE reference = 'no-such-message'")
    assert reason == "unknown message"
    metrics = (await stack.api.get("/metrics")).text
    assert 'notifications_rejected_callbacks_total{kind="receipt",provider="aliyun"' in metrics
    garbage = await stack.api.post("/v1/providers/aliyun/receipts", content=b"not json")
    assert garbage.status_code == 422 and garbage.headers["content-type"] == "application/problem+json"
    assert garbage.json()["errors"][0]["field"] == "body"


LETTERS = "139abcd1234"  # phonenumbers would read it as 13922231234 (keypad letters)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/v1/providers/aliyun/inbound",
            [{"phone_number": LETTERS, "send_time": "2026-11-24 20:00:00", "content": "T"}],
            "[0].phone_number",
        ),
        ("/v1/providers/aliyun/receipts", [aliyun_receipt("biz-letters", LETTERS)], "[0].phone_number"),
        ("/v1/providers/tencent/inbound", {"mobile": LETTERS, "text": "T", "time": 1795478400}, "mobile"),
        ("/v1/providers/tencent/inbound", {"mobile": PHONE_A, "text": "T", "time": 10**20}, "time"),
        ("/v1/providers/tencent/inbound", {"mobile": PHONE_A, "text": "T", "time": 1.5e300}, "time"),
        (
            "/v1/providers/tencent/receipts",
            [{"user_receive_time": "2026-11-24 10:00:05", "mobile": PHONE_A, "report_status": "MAYBE", "sid": "s"}],
            "[0].report_status",
        ),
        (
            "/v1/providers/aliyun/receipts",
            [aliyun_receipt("biz-feb", PHONE_A) | {"report_time": "2026-02-30 10:00:05"}],
            "[0].report_time",
        ),
    ],
)
async def test_a_callback_off_the_providers_format_is_refused_naming_the_field_and_records_nothing(
    stack: Stack, path: str, body: object, field: str
) -> None:
    before = await stack.sql("SELECT (SELECT count(*) FROM opt_outs), (SELECT count(*) FROM rejected_callbacks)")
    response = await stack.api.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert LETTERS not in response.text  # the problem never quotes the body: it carries phone numbers
    after = await stack.sql("SELECT (SELECT count(*) FROM opt_outs), (SELECT count(*) FROM rejected_callbacks)")
    assert after == before


async def test_the_openapi_describes_the_callbacks_the_simulated_providers_push(stack: Stack) -> None:
    """Each provider's callback, as the gateway simulator pushes it, fits the body the OpenAPI documents for
    its path; a number written with letters does not."""
    import jsonschema

    from simulators.sms.gateway import Message, receipt_item

    paths = stack.app.openapi()["paths"]

    def schema(path: str) -> dict:
        return paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]

    now = datetime.now(UTC)
    for provider in ("aliyun", "tencent"):
        pushed = await stack.sim.post("/_sim/inbound", json={"provider": provider, "phone": PHONE_B, "text": "1"})
        item = pushed.json()["pushed"]
        jsonschema.validate(item, schema(f"/v1/providers/{provider}/inbound"))
        message = Message(provider, "biz-1", "m-1", "+86" + PHONE_A, "S", "T", {}, now, True, "DELIVRD", now)
        jsonschema.validate([receipt_item(message)], schema(f"/v1/providers/{provider}/receipts"))
        number = "phone_number" if provider == "aliyun" else "mobile"
        try:
            jsonschema.validate(item | {number: LETTERS}, schema(f"/v1/providers/{provider}/inbound"))
        except jsonschema.ValidationError:
            pass
        else:
            raise AssertionError("a number written with letters must not fit the documented body")


async def test_an_unknown_receipt_is_parked_once_then_expires_into_the_rejected_record(stack: Stack) -> None:
    body = [aliyun_receipt("no-such-biz", PHONE_A)]
    for _ in range(2):  # the provider retries: parked once
        response = await stack.api.post("/v1/providers/aliyun/receipts", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["code"] == 0 and response.json()["rejected"] == 0 and response.json()["matched"] == 0
    [(phone_index, delivered)] = await stack.sql(
        "SELECT phone_index, delivered FROM parked_receipts WHERE provider_message_id = 'no-such-biz'"
    )
    assert delivered and phone_index == stack.app.state.vault.index("+86" + PHONE_A, PHONE_INDEX_PURPOSE)
    assert not await stack.sql("SELECT 1 FROM parked_receipts WHERE parked_receipts::text LIKE :p", p=f"%{PHONE_A}%")
    assert not await stack.sql("SELECT 1 FROM rejected_callbacks WHERE reference = 'no-such-biz'")

    await stack.app.state.workers.sweeper.sweep()  # too young to give up on
    assert await stack.sql("SELECT 1 FROM parked_receipts WHERE provider_message_id = 'no-such-biz'")
    await stack.write(
        "UPDATE parked_receipts SET received_at = now() - interval '25 hours' WHERE provider_message_id = 'no-such-biz'"
    )
    await stack.app.state.workers.sweeper.sweep()
    assert not await stack.sql("SELECT 1 FROM parked_receipts WHERE provider_message_id = 'no-such-biz'")
    [(kind, reason)] = await stack.sql("SELECT kind, reason FROM rejected_callbacks WHERE reference = 'no-such-biz'")
    assert (kind, reason) == ("receipt", "unknown message")
    metrics = (await stack.api.get("/metrics")).text
    assert 'notifications_parked_receipts_total{outcome="parked",provider="aliyun"}' in metrics
    assert 'notifications_parked_receipts_total{outcome="expired",provider="aliyun"}' in metrics


async def sent_message(stack: Stack, phone: str, state: str = "sent") -> uuid.UUID:
    """A message the provider accepted whose id the sender has not recorded yet."""
    message_id = uuid.uuid4()
    await stack.write(
        "INSERT INTO messages (id, event_id, event_type, template_code, language, recipient_key, params, category,"
        " urgent, survey, state, not_before, attempts, provider, phone_index, sent_at) VALUES (:id, :event,"
        " 'entitlements.decision.granted', 'decision_granted', 'zh', :recipient, '{}', 'statutory', false, false,"
        " :state, now(), 1, 'aliyun', :phone_index, now())",
        id=message_id,
        event=uuid.uuid4(),
        recipient=f"person:{uuid.uuid4()}",
        state=state,
        phone_index=stack.app.state.vault.index("+86" + phone, PHONE_INDEX_PURPOSE),
    )
    return message_id


async def test_the_sweep_applies_a_parked_receipt_once_the_provider_id_is_known(stack: Stack) -> None:
    waiting, delivered = await sent_message(stack, PHONE_A), await sent_message(stack, PHONE_B)
    body = [aliyun_receipt("late-biz-1", PHONE_A), aliyun_receipt("late-biz-2", PHONE_B, success=False)]
    response = await stack.api.post("/v1/providers/aliyun/receipts", json=body)
    assert response.json()["matched"] == 0 and response.json()["rejected"] == 0
    # The ids are recorded without the sender's own rematch (as when the receipt lands during its commit);
    # the second message has meanwhile been delivered: a late failure must not move it backwards.
    await stack.write("UPDATE messages SET provider_message_id = 'late-biz-1' WHERE id = :id", id=waiting)
    await stack.write(
        "UPDATE messages SET provider_message_id = 'late-biz-2', state = 'delivered' WHERE id = :id", id=delivered
    )
    await stack.app.state.workers.sweeper.sweep()
    rows = await stack.sql(
        "SELECT id, state, last_error, final_at FROM messages WHERE id IN (:a, :b)", a=waiting, b=delivered
    )
    states = {r[0]: r[1:] for r in rows}
    assert states[waiting][0] == "delivered" and states[waiting][2] is not None
    assert states[delivered][:2] == ("delivered", None)
    left = await stack.sql("SELECT 1 FROM parked_receipts WHERE provider_message_id IN ('late-biz-1', 'late-biz-2')")
    assert left == []
    metrics = (await stack.api.get("/metrics")).text
    assert 'notifications_parked_receipts_total{outcome="applied",provider="aliyun"}' in metrics


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
    ttl, settings_.message_ttl_hours = settings_.message_ttl_hours, 24 * 7  # the clock goes 2+ days ahead
    try:
        later = (stack.clock() + timedelta(days=2)).astimezone(CHINA).replace(hour=12, minute=0)
        stack.clock.jump_to(later)  # a China day of its own: nothing counted yet
        first, second = (decision(stack.people["father"], stack.household_id) for _ in range(2))
        await publish(nats_url, first)
        await stack.wait_messages(tokens, str(first.id), settled({"sent", "delivered"}))
        await publish(nats_url, second)
        [message] = await stack.wait_messages(tokens, str(second.id), settled({"suppressed"}))
    finally:
        settings_.per_number_daily_cap, settings_.message_ttl_hours = cap, ttl
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


async def test_an_early_receipt_is_applied_as_the_sender_records_the_id(stack: Stack, tokens, nats_url) -> None:  # noqa: ANN001
    aliyun = stack.app.state.workers.providers["aliyun"]
    aliyun.batch_size = 100  # SendBatchSms: the receipt carries the BizId and the number, not our id
    parked: list[int] = []

    async def send_and_let_the_receipt_come_first(requests):  # noqa: ANN001, ANN202
        results = await type(aliyun).send(aliyun, requests)
        refs = [r.provider_message_id for r in results if r.accepted]
        for _ in range(100):  # the simulator posts the receipt 20 ms after accepting
            found = await stack.sql(
                "SELECT count(*) FROM parked_receipts WHERE provider_message_id = ANY(:refs)", refs=refs
            )
            if found[0][0] >= len(refs):
                parked.append(found[0][0])
                break
            await asyncio.sleep(0.05)
        return results

    aliyun.send = send_and_let_the_receipt_come_first
    try:
        event = decision(stack.people["mother"], stack.household_id, kind="revoked")
        await publish(nats_url, event)
        [message] = await stack.wait_messages(tokens, str(event.id), settled({"delivered"}))
    finally:
        del aliyun.send
        aliyun.batch_size = 1
    assert parked == [1]  # the receipt waited for the sender, which applied it as it recorded the BizId
    assert message["provider"] == "aliyun" and message["provider_message_id"]
    left = await stack.sql(
        "SELECT count(*) FROM parked_receipts WHERE provider_message_id = :ref", ref=message["provider_message_id"]
    )
    assert left[0][0] == 0
