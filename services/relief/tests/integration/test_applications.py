"""Emergency relief end to end on real PostgreSQL and NATS, households from the real registry: steps,
ledger, events, priority, queue."""

import asyncio
import json
import uuid

import nats
import pytest
from relief_support import COUNTY, VILLAGE

from carekit.events.envelope import new_event


@pytest.fixture
def relief(relief_and_registry):  # noqa: ANN001, ANN201 - households come from the real registry
    return relief_and_registry


@pytest.fixture
def people(tokens) -> dict[str, dict[str, str]]:  # noqa: ANN001
    def h(role: str, sub: str, region: str = COUNTY) -> dict[str, str]:
        return tokens.headers(roles=[role], region=region, sub=sub)

    return {
        "cw": h("caseworker", "cw-1"),
        "township": h("approver", "ap-town", COUNTY + "001"),
        "county1": h("approver", "ap-1"),
        "county2": h("approver", "ap-2"),
        "fm": h("fund_manager", "fm-1"),
        "auditor": h("auditor", "au-1"),
    }


async def _fund(relief, fm: dict, amount: int) -> None:  # noqa: ANN001
    await relief.post(
        "/v1/funds",
        headers=fm,
        json={"code": "care_fund", "kind": "care_fund", "name_zh": "基金", "name_en": "Care fund", "region": COUNTY},
    )
    r = await relief.post(
        "/v1/funds/care_fund/allocations", headers=fm, json={"amount_fen": amount, "document_no": "doc-1"}
    )
    assert r.status_code == 201, r.text


def _body(relief, amount: int, member: int = 0, **extra) -> dict:  # noqa: ANN001, ANN003
    """An application for the registry's household of person `member`, by that person."""
    person = relief.people[member]
    return {
        "household_id": person["household_id"],
        "applicant_person_id": person["id"],
        "reason_code": "child_died",
        "amount_fen": amount,
    } | extra


async def test_application_path_with_second_approver_and_ledger(relief, people, nats_url) -> None:  # noqa: ANN001
    await _fund(relief, people["fm"], 2_000_000)
    nc = await nats.connect(nats_url)
    seen: list[dict] = []

    async def collect(msg) -> None:  # noqa: ANN001
        seen.append(json.loads(msg.data))

    sub = await nc.subscribe("relief.application.>", cb=collect)
    created = await relief.post("/v1/applications", headers=people["cw"], json=_body(relief, 800_000))
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    assert created.json()["approvals_needed"] == 2
    own = await relief.post(f"/v1/applications/{app_id}/review", headers=people["cw"], json={})
    assert own.status_code == 403  # a caseworker is no approver; and the maker may not check
    r = await relief.post(f"/v1/applications/{app_id}/review", headers=people["township"], json={"comment": "属实"})
    assert r.status_code == 200 and r.json()["status"] == "reviewed", r.text
    r = await relief.post(f"/v1/applications/{app_id}/approve", headers=people["county1"], json={})
    assert r.json()["status"] == "reviewed"
    twice = await relief.post(f"/v1/applications/{app_id}/approve", headers=people["county1"], json={})
    assert twice.status_code == 403 and twice.json()["type"].endswith("second-approver-needed")
    r = await relief.post(f"/v1/applications/{app_id}/approve", headers=people["county2"], json={"comment": "同意"})
    assert r.json()["status"] == "approved", r.text
    fund = (await relief.get("/v1/funds/care_fund", headers=people["fm"])).json()
    assert (fund["reserved_fen"], fund["available_fen"]) == (800_000, 1_200_000)
    r = await relief.post(f"/v1/applications/{app_id}/pay", headers=people["fm"], json={})
    assert r.json()["status"] == "paid", r.text
    steps = [(s["step"], s["actor"]) for s in r.json()["steps"]]
    assert steps == [
        ("submitted", "cw-1"),
        ("reviewed", "ap-town"),
        ("approved", "ap-1"),
        ("approved", "ap-2"),
        ("paid", "fm-1"),
    ]
    fund = (await relief.get("/v1/funds/care_fund", headers=people["fm"])).json()
    assert (fund["reserved_fen"], fund["posted_balance_fen"]) == (0, 1_200_000)
    for _ in range(50):
        if len(seen) >= 4:
            break
        await asyncio.sleep(0.1)
    await sub.unsubscribe()
    await nc.close()
    types = [e["type"] for e in seen]
    assert types == [
        "relief.application.submitted",
        "relief.application.reviewed",
        "relief.application.approved",
        "relief.application.paid",
    ]
    assert all("name" not in e["data"] for e in seen)
    invariant = (await relief.get("/v1/ledger/invariant", headers=people["auditor"])).json()
    assert invariant["ok"], invariant


async def test_approval_refused_when_fund_is_short(relief, people) -> None:  # noqa: ANN001
    await _fund(relief, people["fm"], 1)
    fund = (await relief.get("/v1/funds/care_fund", headers=people["fm"])).json()
    app_id = (
        await relief.post("/v1/applications", headers=people["cw"], json=_body(relief, fund["available_fen"] + 1))
    ).json()["id"]
    await relief.post(f"/v1/applications/{app_id}/review", headers=people["township"], json={})
    await relief.post(f"/v1/applications/{app_id}/approve", headers=people["county1"], json={})
    r = await relief.post(f"/v1/applications/{app_id}/approve", headers=people["county2"], json={})
    assert r.status_code == 422 and r.json()["type"].endswith("insufficient-funds"), r.text
    after = (await relief.get(f"/v1/applications/{app_id}", headers=people["cw"])).json()
    assert after["status"] == "reviewed" and len(after["steps"]) == 3  # the refused approval left no trace


async def test_priority_from_entitlements_orders_the_queue(relief, people, nats_url) -> None:  # noqa: ANN001
    bereaved = uuid.UUID(relief.people[1]["household_id"])
    plain = await relief.post("/v1/applications", headers=people["cw"], json=_body(relief, 1000, member=2))
    flagged = await relief.post("/v1/applications", headers=people["cw"], json=_body(relief, 1000, member=1))
    assert flagged.json()["priority"] is False
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(name="ENTITLEMENTS", subjects=["entitlements.>"])
    event = new_event(
        "entitlements.decision.granted",
        {
            "policy": "relief-priority",
            "benefit_kind": "priority_flag",
            "household_id": str(bereaved),
            "subject_id": str(bereaved),
            "eligible": True,
        },
        source="/guanhuai/entitlements",
    )
    await js.publish(event.type, event.to_json(), headers={"Nats-Msg-Id": str(event.id)})
    await nc.close()
    for _ in range(100):
        queue = (await relief.get("/v1/applications", headers=people["township"])).json()
        if queue and queue[0]["id"] == flagged.json()["id"]:
            break
        await asyncio.sleep(0.1)
    ids = [a["id"] for a in queue]
    assert ids.index(flagged.json()["id"]) < ids.index(plain.json()["id"])
    assert queue[0]["priority"] is True and queue[0]["waited_hours"] >= 0


async def test_bad_applications(relief, people, tokens) -> None:  # noqa: ANN001
    await _fund(relief, people["fm"], 1000)
    for body in (_body(relief, 0), _body(relief, -5), _body(relief, 100, reason_code="fine")):
        r = await relief.post("/v1/applications", headers=people["cw"], json=body)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    citizen_id = relief.people[0]["id"]
    citizen = tokens.headers(roles=["citizen"], sub=citizen_id)
    ok = await relief.post("/v1/applications", headers=citizen, json=_body(relief, 100))
    assert ok.status_code == 201, ok.text
    assert ok.json()["region_code"] == VILLAGE
    other = await relief.post("/v1/applications", headers=citizen, json=_body(relief, 100, member=1))
    assert other.status_code == 403
