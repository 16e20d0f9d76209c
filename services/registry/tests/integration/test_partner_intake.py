"""Partner intake (signed CloudEvents from health and civil affairs) and the caseworkers' review queue."""

import asyncio
import base64
import itertools
import json
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import nats
import pytest
from registry_support import COUNTY, VILLAGE, only_child_family, resident_id
from standardwebhooks import Webhook

from carekit.db.engine import asyncpg_dsn
from registry.events import outgoing

DEATH = "gov.health.death_reported"
DISABILITY = "gov.health.disability_assessed"
BIRTH = "gov.health.birth_registered"
LOW_INCOME = "gov.civil_affairs.low_income_changed"
_agencies = itertools.count(1)


@pytest.fixture
def admin(tokens) -> dict[str, str]:  # noqa: ANN001
    return tokens.headers(roles=["admin"], region=COUNTY, sub="admin-1")


@pytest.fixture
def other_caseworker(tokens) -> dict[str, str]:  # noqa: ANN001
    return tokens.headers(roles=["caseworker"], region="360703", sub="cw-other")


class Partner:
    def __init__(self, client, agency: str, secret: str) -> None:  # noqa: ANN001
        self.client, self.agency, self.secret = client, agency, secret

    def signed(self, event_type: str, data: dict, *, webhook_id: str | None = None, age: timedelta = timedelta(),
               secret: str | None = None, source: str | None = None) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "type": event_type,
                           "source": source or f"/partners/{self.agency}", "time": datetime.now(UTC).isoformat(),
                           "datacontenttype": "application/json", "data": data}, ensure_ascii=False)
        msg_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        stamp = datetime.now(UTC) - age
        signature = Webhook(secret or self.secret).sign(msg_id, stamp, body)
        return body.encode(), {"webhook-id": msg_id, "webhook-timestamp": str(int(stamp.timestamp())),
                               "webhook-signature": signature, "content-type": "application/cloudevents+json"}

    async def send(self, event_type: str, data: dict, **options):  # noqa: ANN003, ANN201
        body, headers = self.signed(event_type, data, **options)
        return await self.client.post("/v1/partner-events", content=body, headers=headers)


async def new_partner(client, admin: dict[str, str], region: str = COUNTY) -> Partner:  # noqa: ANN001
    agency = f"health-{next(_agencies)}"
    response = await client.post("/v1/partners", headers=admin,
                                 json={"agency": agency, "name": "章贡区卫生健康委员会", "region": region})
    assert response.status_code == 201, response.text
    return Partner(client, agency, response.json()["secret"])


@pytest.fixture
async def partner(registry, admin) -> Partner:  # noqa: ANN001
    return await new_partner(registry, admin)


async def count(client, table: str, where: str = "TRUE") -> int:  # noqa: ANN001
    conn = await asyncpg.connect(asyncpg_dsn(client._transport.app.state.test_database_url))
    try:
        return await conn.fetchval(f"SELECT count(*) FROM {table} WHERE {where}")
    finally:
        await conn.close()


async def column(client, sql: str) -> list:  # noqa: ANN001
    conn = await asyncpg.connect(asyncpg_dsn(client._transport.app.state.test_database_url))
    try:
        return [row[0] for row in await conn.fetch(sql)]
    finally:
        await conn.close()


async def published(client) -> list[dict]:  # noqa: ANN001
    await asyncio.sleep(0.5)  # the outbox relay polls every 0.2 s in tests
    nc = await nats.connect(client._transport.app.state.settings.nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("REGISTRY")
        return [json.loads((await js.get_msg("REGISTRY", seq)).data)
                for seq in range(info.state.first_seq, info.state.last_seq + 1)]
    finally:
        await nc.close()


def unregistered_id(serial: int, *, female: bool = False) -> str:
    assert 0 < serial < 10
    return resident_id(date(1950, 1, 1), female=female, serial=90 + serial)  # families use serials 1–90


# --- partner registration ---------------------------------------------------------------------------------

async def test_only_admins_register_partners_and_the_secret_is_shown_once(registry, admin, caseworker,
                                                                          tokens) -> None:  # noqa: ANN001
    body = {"agency": "civil-affairs-360702", "name": "章贡区民政局", "region": COUNTY}
    for headers in (caseworker, tokens.headers(roles=["partner"], agency="civil-affairs-360702", region=COUNTY)):
        refused = await registry.post("/v1/partners", headers=headers, json=body)
        assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert (await registry.get("/v1/partners", headers=caseworker)).status_code == 403

    created = await registry.post("/v1/partners", headers=admin, json=body)
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_") and 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 32
    stored = await column(registry, "SELECT secret_cipher FROM partners WHERE agency = 'civil-affairs-360702'")
    assert len(stored) == 1 and b"whsec_" not in stored[0] and secret.encode() not in stored[0]  # sealed at rest

    listed = (await registry.get("/v1/partners", headers=admin)).json()
    mine = next(p for p in listed if p["agency"] == "civil-affairs-360702")
    assert "secret" not in mine and mine["region"] == COUNTY and secret not in json.dumps(listed)

    again = await registry.post("/v1/partners", headers=admin, json=body)
    assert again.status_code == 409
    wider = await registry.post("/v1/partners", headers=admin, json=body | {"agency": "province", "region": "36"})
    assert wider.status_code == 422 and wider.json()["errors"][0]["field"] == "region"
    township = await registry.post("/v1/partners", headers=admin, json=body | {"agency": "town", "region": "360702100"})
    assert township.status_code == 422 and township.json()["errors"][0]["field"] == "body.region"  # a remit is a county
    bad_agency = await registry.post("/v1/partners", headers=admin, json=body | {"agency": "Civil Affairs"})
    assert bad_agency.status_code == 422


async def test_rotating_the_secret_retires_the_old_one(registry, admin, family, tokens) -> None:  # noqa: ANN001
    partner = await new_partner(registry, admin)
    await only_child_family(family)
    old = partner.secret
    rotated = await registry.post(f"/v1/partners/{partner.agency}/rotate-secret", headers=admin)
    assert rotated.status_code == 200 and rotated.json()["secret"] != old
    partner.secret = rotated.json()["secret"]
    data = {"id_number": family.id_number(date(1966, 5, 1), female=False), "grade": 3, "assessed_on": "2024-05-01"}
    assert (await partner.send(DISABILITY, data, secret=old)).status_code == 401
    assert (await partner.send(DISABILITY, data)).status_code == 200
    assert (await registry.post("/v1/partners/nobody/rotate-secret", headers=admin)).status_code == 404
    outsider = tokens.headers(roles=["admin"], region="360703", sub="admin-2")
    hidden = await registry.post(f"/v1/partners/{partner.agency}/rotate-secret", headers=outsider)
    assert hidden.status_code == 404
    assert partner.agency not in [p["agency"] for p in (await registry.get("/v1/partners", headers=outsider)).json()]


# --- authentication ---------------------------------------------------------------------------------------

async def test_bad_signature_unknown_partner_and_stale_timestamp_are_401(registry, partner, family) -> None:  # noqa: ANN001
    await only_child_family(family)
    data = {"id_number": family.id_number(date(1995, 8, 8), female=True), "died_on": "2024-02-10"}
    before = [await count(registry, t) for t in ("life_events", "partner_deliveries", "review_items")]

    body, headers = partner.signed(DEATH, data)
    tampered = body.replace(b"2024-02-10", b"2024-02-11")
    answers = [
        await registry.post("/v1/partner-events", content=tampered, headers=headers),
        await partner.send(DEATH, data, secret="whsec_" + base64.b64encode(b"x" * 32).decode()),
        await partner.send(DEATH, data, source="/partners/nobody-we-know"),
        await partner.send(DEATH, data, age=timedelta(minutes=6)),
        await partner.send(DEATH, data, age=-timedelta(minutes=6)),
        await registry.post("/v1/partner-events", content=body, headers={"content-type": "application/json"}),
        await registry.post("/v1/partner-events", content=body, headers=headers | {"webhook-signature": "v1,!!"}),
    ]
    for answer in answers:
        assert answer.status_code == 401, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    assert "5 minutes" in answers[3].json()["detail"]
    assert [await count(registry, t) for t in ("life_events", "partner_deliveries", "review_items")] == before


async def test_invalid_payloads_are_422_after_the_signature_and_write_nothing(registry, partner, family) -> None:  # noqa: ANN001
    await only_child_family(family)
    good = family.id_number(date(1995, 8, 8), female=True)
    bad_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    cases = [
        (DEATH, {"id_number": bad_check, "died_on": "2024-02-10"}, "data.id_number"),
        (DEATH, {"id_number": good, "died_on": "2024-02-30"}, "data.died_on"),
        (DEATH, {"id_number": good, "died_on": tomorrow}, "data.died_on"),
        (DEATH, {"id_number": good, "died_on": "1990-01-01"}, "data.died_on"),  # before the birth in the number
        (DISABILITY, {"id_number": good, "grade": 5, "assessed_on": "2024-01-01"}, "data.grade"),
        (LOW_INCOME, {"id_number": good, "kind": "subsidy", "in_force": True, "effective_date": "2024-01-01"},
         "data.kind"),
        (BIRTH, {"mother_id_number": family.id_number(date(1966, 5, 1), female=False), "child_name": "王宝",
                 "sex": "male", "birth_date": "2024-01-01"}, "data.mother_id_number"),
        ("gov.health.vaccination", {"id_number": good}, "type"),
    ]
    before = [await count(registry, t) for t in ("life_events", "partner_deliveries", "review_items")]
    for event_type, data, field in cases:
        answer = await partner.send(event_type, data)
        assert answer.status_code == 422, (field, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["errors"][0]["field"] == field
        unsigned = await partner.send(event_type, data, secret="whsec_" + base64.b64encode(b"y" * 32).decode())
        assert unsigned.status_code == 401  # the signature is checked first
    assert [await count(registry, t) for t in ("life_events", "partner_deliveries", "review_items")] == before

    body, headers = partner.signed(DEATH, {"id_number": good, "died_on": "2024-02-10"})
    as_text = await registry.post("/v1/partner-events", content=body, headers=headers | {"content-type": "text/plain"})
    assert as_text.status_code == 415


# --- reports that match a person --------------------------------------------------------------------------

async def test_a_death_report_kills_the_person_changes_facts_and_is_published(registry, partner, family) -> None:  # noqa: ANN001
    await only_child_family(family)
    daughter = family.people["daughter"]
    answer = await partner.send(DEATH, {"id_number": family.id_number(date(1995, 8, 8), female=True),
                                        "died_on": "2024-02-10"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "applied" and answer.json()["review_item_id"] is None

    person = (await registry.get(f"/v1/persons/{daughter}", headers=family.headers)).json()
    assert person["alive"] is False and person["death_date"] == "2024-02-10"
    facts = await family.facts()
    assert facts["bereaved"] is True and facts["living_children"] == 0
    events = (await registry.get(f"/v1/persons/{daughter}/events", headers=family.headers)).json()
    death = next(e for e in events if e["kind"] == "death")
    assert death["source"] == f"partner:{partner.agency}" and death["recorded_by"] == partner.agency

    stream = await published(registry)
    died = [e for e in stream if e["type"] == outgoing.PERSON_DIED and e["subject"] == daughter]
    assert len(died) == 1 and died[0]["data"]["life_event_id"] == death["id"]
    assert any(e["type"] == outgoing.HOUSEHOLD_FACTS_CHANGED and e["data"]["household_id"] == family.household_id
               and e["data"]["facts"]["bereaved"] for e in stream)
    assert family.id_number(date(1995, 8, 8), female=True) not in json.dumps(stream)


async def test_a_replayed_webhook_id_gets_the_first_answer_and_changes_nothing(registry, partner,
                                                                               family) -> None:  # noqa: ANN001
    await only_child_family(family)
    father = family.people["father"]
    data = {"id_number": family.id_number(date(1966, 5, 1), female=False), "died_on": "2024-03-01"}
    first = await partner.send(DEATH, data, webhook_id="msg_replay_1")
    replay = await partner.send(DEATH, data, webhook_id="msg_replay_1")  # re-signed, as retries are
    assert first.status_code == replay.status_code == 200
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    events = (await registry.get(f"/v1/persons/{father}/events", headers=family.headers)).json()
    assert [e["kind"] for e in events].count("death") == 1
    assert await count(registry, "partner_deliveries", "webhook_id = 'msg_replay_1'") == 1

    # The same news under a new webhook-id is recognised as already on record.
    again = await partner.send(DEATH, data)
    assert again.status_code == 200 and again.json()["outcome"] == "already_recorded"
    events = (await registry.get(f"/v1/persons/{father}/events", headers=family.headers)).json()
    assert [e["kind"] for e in events].count("death") == 1


async def test_another_partner_cannot_take_a_webhook_id(registry, admin, family) -> None:  # noqa: ANN001
    await only_child_family(family)
    first, second = await new_partner(registry, admin), await new_partner(registry, admin)
    data = {"id_number": family.id_number(date(1966, 5, 1), female=False), "grade": 2, "assessed_on": "2023-01-01"}
    assert (await first.send(DISABILITY, data, webhook_id="msg_shared")).status_code == 200
    taken = await second.send(DISABILITY, data, webhook_id="msg_shared")
    assert taken.status_code == 409 and taken.json()["type"] == "urn:guanhuai:problem:webhook-id-taken"


async def test_disability_and_low_income_reports(registry, admin, family) -> None:  # noqa: ANN001
    await only_child_family(family)
    health = await new_partner(registry, admin)
    civil = await new_partner(registry, admin)
    mother = family.people["mother"]
    number = family.id_number(date(1968, 3, 2), female=True)
    assessed = await health.send(DISABILITY, {"id_number": number, "grade": 2, "assessed_on": "2023-06-01"})
    granted = await civil.send(LOW_INCOME, {"id_number": number, "kind": "dibao", "in_force": True,
                                            "effective_date": "2024-01-01"})
    assert (assessed.status_code, granted.status_code) == (200, 200)
    person = (await registry.get(f"/v1/persons/{mother}", headers=family.headers)).json()
    assert person["disability_grade"] == 2 and person["low_income"] == ["dibao"]
    assert (await family.facts())["low_income"] is True
    ended = await civil.send(LOW_INCOME, {"id_number": number, "kind": "dibao", "in_force": False,
                                          "effective_date": "2024-07-01"})
    assert ended.status_code == 200
    person = (await registry.get(f"/v1/persons/{mother}", headers=family.headers)).json()
    assert person["low_income"] == []
    stream = await published(registry)
    assert any(e["type"] == outgoing.LOW_INCOME_CHANGED and e["subject"] == mother for e in stream)
    assert any(e["type"] == outgoing.PERSON_DISABILITY_CHANGED and e["subject"] == mother for e in stream)


async def test_a_birth_adds_the_child_to_the_mothers_household(registry, partner, family) -> None:  # noqa: ANN001
    await only_child_family(family)
    child_id = resident_id(date(2024, 9, 1), female=True, serial=88)
    # The daughter (born 1995, relation "child") gives birth: the baby is the head's grandchild.
    data = {"mother_id_number": family.id_number(date(1995, 8, 8), female=True), "child_name": "王小小",
            "sex": "female", "birth_date": "2024-09-01", "child_id_number": child_id}
    answer = await partner.send(BIRTH, data)
    assert answer.status_code == 200 and answer.json()["outcome"] == "applied", answer.text
    household = (await registry.get(f"/v1/households/{family.household_id}", headers=family.headers)).json()
    baby = next(m for m in household["members"] if m["name"] == "王小小")
    assert baby["relation"] == "grandchild" and baby["sex"] == "female" and baby["birth_date"] == "2024-09-01"
    person = (await registry.get(f"/v1/persons/{baby['id']}", headers=family.headers)).json()
    assert person["mother_id"] == family.people["daughter"] and person["father_id"] is None  # no husband known
    assert person["id_number"].startswith(child_id[:6]) and "*" in person["id_number"]
    events = (await registry.get(f"/v1/persons/{baby['id']}/events", headers=family.headers)).json()
    assert [(e["kind"], e["source"], e["recorded_by"]) for e in events] == [
        ("birth", f"partner:{partner.agency}", partner.agency)]
    again = await partner.send(BIRTH, data)  # the same birth reported twice (another webhook-id)
    assert again.status_code == 200 and again.json()["outcome"] == "already_recorded"
    assert await count(registry, "persons", f"mother_id = '{family.people['daughter']}'") == 1


async def test_a_birth_to_the_heads_wife_links_the_father(registry, partner, family) -> None:  # noqa: ANN001
    await only_child_family(family)  # head: the father; spouse: the mother
    data = {"mother_id_number": family.id_number(date(1968, 3, 2), female=True), "child_name": "王二",
            "sex": "male", "birth_date": "2005-04-04"}
    answer = await partner.send(BIRTH, data)
    assert answer.status_code == 200, answer.text
    household = (await registry.get(f"/v1/households/{family.household_id}", headers=family.headers)).json()
    baby = next(m for m in household["members"] if m["name"] == "王二")
    person = (await registry.get(f"/v1/persons/{baby['id']}", headers=family.headers)).json()
    assert person["mother_id"] == family.people["mother"] and person["father_id"] == family.people["father"]
    assert baby["relation"] == "child"
    facts = await family.facts()
    assert facts["living_children"] == 2 and facts["only_child"] is False


async def test_a_report_contradicting_the_record_is_parked(registry, partner, family) -> None:  # noqa: ANN001
    await only_child_family(family)
    await family.event("daughter", kind="death", effective_date="2024-02-10")
    answer = await partner.send(DEATH, {"id_number": family.id_number(date(1995, 8, 8), female=True),
                                        "died_on": "2024-03-01"})
    assert answer.status_code == 202 and answer.json()["outcome"] == "parked"
    item = (await registry.get(f"/v1/review-items/{answer.json()['review_item_id']}", headers=family.headers)).json()
    assert item["reason"] == "conflict" and item["note"]["field"] == "data.died_on"
    assert item["region_hint"] == VILLAGE
    assert item["candidate_person_id"] == family.people["daughter"]

    # A rule of the registry refusing it (an assessment after the recorded death) parks it too.
    late = await partner.send(DISABILITY, {"id_number": family.id_number(date(1995, 8, 8), female=True),
                                           "grade": 1, "assessed_on": "2024-04-01"})
    assert late.status_code == 202
    item = (await registry.get(f"/v1/review-items/{late.json()['review_item_id']}", headers=family.headers)).json()
    assert item["reason"] == "conflict" and item["note"]["field"] == "effective_date"
    events = (await registry.get(f"/v1/persons/{family.people['daughter']}/events", headers=family.headers)).json()
    assert [e["kind"] for e in events] == ["birth", "death"]


async def test_a_person_outside_the_partners_region_is_parked(registry, admin, family, tokens) -> None:  # noqa: ANN001
    await only_child_family(family)
    prefecture_admin = tokens.headers(roles=["admin"], region="3607", sub="admin-pref")
    neighbour = await new_partner(registry, prefecture_admin, region="360703")
    answer = await neighbour.send(DISABILITY, {"id_number": family.id_number(date(1995, 8, 8), female=True),
                                               "grade": 1, "assessed_on": "2020-01-01"})
    assert answer.status_code == 202 and answer.json()["outcome"] == "parked"
    item = (await registry.get(f"/v1/review-items/{answer.json()['review_item_id']}", headers=family.headers)).json()
    assert item["reason"] == "outside_partner_region"
    person = (await registry.get(f"/v1/persons/{family.people['daughter']}", headers=family.headers)).json()
    assert person["disability_grade"] is None


# --- the review queue -------------------------------------------------------------------------------------

async def test_an_unmatched_id_is_parked_for_that_regions_caseworkers(registry, partner, caseworker,
                                                                      other_caseworker) -> None:  # noqa: ANN001
    number = unregistered_id(1)
    before = await count(registry, "life_events")
    answer = await partner.send(DEATH, {"id_number": number, "died_on": "2024-05-05"}, webhook_id="msg_unmatched")
    assert answer.status_code == 202, answer.text
    assert answer.json()["outcome"] == "parked"
    item_id = answer.json()["review_item_id"]
    assert await count(registry, "life_events") == before
    sealed = await column(registry, f"SELECT payload_cipher FROM review_items WHERE id = '{item_id}'")
    assert number.encode() not in sealed[0] and b"died_on" not in sealed[0]  # sealed at rest

    replay = await partner.send(DEATH, {"id_number": number, "died_on": "2024-05-05"}, webhook_id="msg_unmatched")
    assert replay.status_code == 202 and replay.json()["review_item_id"] == item_id
    assert await count(registry, "review_items", f"id = '{item_id}'") == 1

    listed = await _all_items(registry, caseworker)
    assert item_id in [i["id"] for i in listed]
    item = (await registry.get(f"/v1/review-items/{item_id}", headers=caseworker)).json()
    assert item["reason"] == "unmatched" and item["region_hint"] == COUNTY and item["status"] == "open"
    assert item["report"]["id_number"] == number[:6] + "********" + number[-4:]
    assert item["report"]["died_on"] == "2024-05-05" and number not in json.dumps(item)
    assert item["candidate_person_id"] is None

    assert item_id not in [i["id"] for i in await _all_items(registry, other_caseworker)]
    for response in (await registry.get(f"/v1/review-items/{item_id}", headers=other_caseworker),
                     await registry.post(f"/v1/review-items/{item_id}/resolve", headers=other_caseworker,
                                         json={"resolution": "dismissed", "reason": "not ours"})):
        assert response.status_code == 404 and response.json()["type"] == "urn:guanhuai:problem:not-found"


async def test_resolving_matched_applies_the_report_once(registry, partner, family) -> None:  # noqa: ANN001
    await family.household()
    await family.person("grandpa", name="赵老汉", relation="head", sex="male", birth_date="1940-02-02")  # no ID
    number = resident_id(date(1940, 2, 2), female=False, serial=96)
    parked = await partner.send(DEATH, {"id_number": number, "died_on": "2024-06-06"})
    assert parked.status_code == 202
    item_id = parked.json()["review_item_id"]

    wrong = await registry.post(f"/v1/review-items/{item_id}/resolve", headers=family.headers,
                                json={"resolution": "matched", "person_id": str(uuid.uuid4())})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "person_id"
    missing = await registry.post(f"/v1/review-items/{item_id}/resolve", headers=family.headers,
                                  json={"resolution": "matched"})
    assert missing.status_code == 422

    resolved = await registry.post(f"/v1/review-items/{item_id}/resolve", headers=family.headers,
                                   json={"resolution": "matched", "person_id": family.people["grandpa"]})
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert body["status"] == "matched" and body["resolved_by"] == "cw-1" and body["resolved_at"]
    assert body["resolution"]["outcome"] == "applied" and body["resolution"]["person_id"] == family.people["grandpa"]
    person = (await registry.get(f"/v1/persons/{family.people['grandpa']}", headers=family.headers)).json()
    assert person["alive"] is False and person["death_date"] == "2024-06-06"
    events = (await registry.get(f"/v1/persons/{family.people['grandpa']}/events", headers=family.headers)).json()
    death = next(e for e in events if e["kind"] == "death")
    assert death["source"] == f"partner:{partner.agency}" and death["recorded_by"] == "cw-1"
    assert death["id"] == body["resolution"]["life_event_id"]

    twice = await registry.post(f"/v1/review-items/{item_id}/resolve", headers=family.headers,
                                json={"resolution": "dismissed", "reason": "changed my mind"})
    assert twice.status_code == 409 and twice.json()["type"] == "urn:guanhuai:problem:review-item-resolved"
    events = (await registry.get(f"/v1/persons/{family.people['grandpa']}/events", headers=family.headers)).json()
    assert [e["kind"] for e in events].count("death") == 1
    open_items = [i["id"] for i in await _all_items(registry, family.headers)]
    assert item_id not in open_items
    assert item_id in [i["id"] for i in await _all_items(registry, family.headers, status="matched")]


async def test_resolving_a_parked_birth_and_dismissing(registry, partner, family) -> None:  # noqa: ANN001
    await family.household()
    await family.person("mum", name="刘芳", relation="head", sex="female", birth_date="1990-10-10")  # no ID yet
    number = resident_id(date(1990, 10, 10), female=True, serial=95)
    birth = await partner.send(BIRTH, {"mother_id_number": number, "child_name": "刘乐", "sex": "male",
                                       "birth_date": "2024-08-08"})
    assert birth.status_code == 202
    resolved = await registry.post(f"/v1/review-items/{birth.json()['review_item_id']}/resolve",
                                   headers=family.headers, json={"resolution": "matched",
                                                                 "person_id": family.people["mum"]})
    assert resolved.status_code == 200, resolved.text
    household = (await registry.get(f"/v1/households/{family.household_id}", headers=family.headers)).json()
    assert [m["name"] for m in household["members"]] == ["刘芳", "刘乐"]

    stray = await partner.send(DEATH, {"id_number": unregistered_id(3), "died_on": "2024-01-01"})
    dismissed = await registry.post(f"/v1/review-items/{stray.json()['review_item_id']}/resolve",
                                    headers=family.headers,
                                    json={"resolution": "dismissed", "reason": "外县人员，已转交"})
    assert dismissed.status_code == 200
    assert dismissed.json()["status"] == "dismissed"
    assert dismissed.json()["resolution"] == {"reason": "外县人员，已转交"}
    short = await registry.post(f"/v1/review-items/{stray.json()['review_item_id']}/resolve",
                                headers=family.headers, json={"resolution": "dismissed", "reason": ""})
    assert short.status_code == 422


async def test_the_queue_pages_with_a_cursor(registry, partner, caseworker, tokens) -> None:  # noqa: ANN001
    ids = set()
    for n in range(5):
        answer = await partner.send(DEATH, {"id_number": unregistered_id(4 + n % 2, female=bool(n % 2)),
                                            "died_on": f"2024-01-0{n + 1}"})
        ids.add(answer.json()["review_item_id"])
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await registry.get("/v1/review-items", headers=caseworker, params=params)).json()
        seen += [i["id"] for i in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert ids <= set(seen) and len(seen) == len(set(seen)) and pages >= 3
    # The items belong to the county (the ID number's first 6 digits): a township caseworker does not see
    # them, a prefecture admin does.
    township = tokens.headers(roles=["caseworker"], region=COUNTY + "001", sub="cw-town")
    assert not ids & {i["id"] for i in await _all_items(registry, township)}
    prefecture = tokens.headers(roles=["admin"], region=COUNTY[:4], sub="admin-pref")
    assert ids <= {i["id"] for i in await _all_items(registry, prefecture)}


async def test_partners_and_citizens_cannot_read_the_queue(registry, tokens) -> None:  # noqa: ANN001
    for roles in (["partner"], ["citizen"], ["auditor"]):
        headers = tokens.headers(roles=roles, region=COUNTY, agency="health-1")
        assert (await registry.get("/v1/review-items", headers=headers)).status_code == 403


async def _all_items(client, headers: dict[str, str], status: str = "open") -> list[dict]:  # noqa: ANN001
    items, cursor = [], None
    while True:
        params = {"limit": 200, "status": status} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/v1/review-items", headers=headers, params=params)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if not cursor:
            return items


async def test_concurrent_deliveries_of_one_webhook_id_apply_once(registry, partner, family) -> None:  # noqa: ANN001
    await only_child_family(family)
    data = {"id_number": family.id_number(date(1966, 5, 1), female=False), "grade": 4, "assessed_on": "2022-02-02"}
    answers = await asyncio.gather(*(partner.send(DISABILITY, data, webhook_id="msg_race") for _ in range(4)))
    assert {a.status_code for a in answers} == {200}
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 3
    events = (await registry.get(f"/v1/persons/{family.people['father']}/events", headers=family.headers)).json()
    assert [e["kind"] for e in events].count("disability_assessed") == 1
