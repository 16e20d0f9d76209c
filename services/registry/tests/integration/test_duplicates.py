"""Probable duplicates and merging: facts refreshed, identifiers moved, history kept, refusals."""

from datetime import date

import asyncpg
from registry_support import COUNTY, Family, only_child_family

from carekit.db.engine import asyncpg_dsn
from registry.events import outgoing

MERGE = "/v1/duplicates/merge"


async def _all_groups(client, headers: dict) -> list[dict]:  # noqa: ANN001
    groups, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        answer = await client.get("/v1/duplicates", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        groups += answer.json()["items"]
        if not (cursor := answer.json()["next_cursor"]):
            return groups


def _group_of(groups: list[dict], person_id: str) -> dict | None:
    return next((g for g in groups if person_id in [p["id"] for p in g["persons"]]), None)


async def _merge(client, headers: dict, keep: str, merge: str, reason: str = "同一人重复登记"):  # noqa: ANN001, ANN202
    return await client.post(MERGE, headers=headers, json={"keep": keep, "merge": merge, "reason": reason})


async def _db(client, sql: str, *args):  # noqa: ANN001, ANN002, ANN202
    conn = await asyncpg.connect(asyncpg_dsn(client._transport.app.state.test_database_url))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_a_twice_registered_child_is_listed_merged_and_the_facts_mend(family) -> None:  # noqa: ANN001
    await only_child_family(family)
    daughter_birth = (await family.client.get(f"/v1/persons/{family.people['daughter']}",
                                              headers=family.headers)).json()["birth_date"]
    await family.person("again", name="王小红", relation="child", mother_id="mother", father_id="father",
                        sex="female", birth_date=daughter_birth)  # the same girl, entered again without ID
    facts = await family.facts()
    assert facts["two_daughters"] and not facts["only_child"]  # the duplicate breaks the categories

    group = _group_of(await _all_groups(family.client, family.headers), family.people["again"])
    assert group is not None and group["name"] == "王小红" and group["birth_date"] == daughter_birth
    listed = {p["id"]: p for p in group["persons"]}
    assert set(listed) == {family.people["daughter"], family.people["again"]}
    assert listed[family.people["again"]]["id_number"] is None
    assert "********" in listed[family.people["daughter"]]["id_number"]  # masked

    merged = await _merge(family.client, family.headers, family.people["daughter"], family.people["again"])
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["kept"] == family.people["daughter"] and family.household_id in body["households"]
    assert len(body["retracted_events"]) == 1 and body["moved_identifiers"] == []

    facts = await family.facts()
    assert facts["only_child"] and facts["single_daughter"] and not facts["two_daughters"]
    assert facts["children_ever"] == 1
    household = (await family.client.get(f"/v1/households/{family.household_id}",
                                         headers=family.headers)).json()
    assert family.people["again"] not in [m["id"] for m in household["members"]]
    assert _group_of(await _all_groups(family.client, family.headers), family.people["daughter"]) is None

    # History is kept: the duplicate's birth stays, retracted by a new event that says why.
    events = (await family.client.get(f"/v1/persons/{family.people['again']}/events",
                                      headers=family.headers)).json()
    assert [e["kind"] for e in events] == ["birth", "retracted"]
    assert events[1]["source"] == "merge" and events[1]["supersedes"] == events[0]["id"]
    assert events[1]["payload"]["merged_into"] == family.people["daughter"]
    rows = await _db(family.client, "SELECT merged_into FROM persons WHERE id = $1::uuid",
                     family.people["again"])
    assert str(rows[0]["merged_into"]) == family.people["daughter"]

    found = (await family.client.get("/v1/search/persons", params={"name": "王小红"},
                                     headers=family.headers)).json()
    assert family.people["again"] not in [p["id"] for p in found["items"]]

    again = await _merge(family.client, family.headers, family.people["daughter"], family.people["again"])
    assert again.status_code == 409 and again.json()["type"] == "urn:guanhuai:problem:already-merged"
    assert again.json()["merged_into"] == f"/v1/persons/{family.people['daughter']}"

    published = await _published(family.client)
    updated = [e for e in published
               if e["type"] == outgoing.PERSON_UPDATED and e["data"].get("kind") == "merged"]
    assert {e["data"]["person_id"] for e in updated} >= {family.people["daughter"], family.people["again"]}
    tomb = next(e for e in updated if e["data"]["person_id"] == family.people["again"])
    assert tomb["data"]["merged_into"] == family.people["daughter"]
    assert "王小红" not in str(updated)
    facts_changed = [e for e in published if e["type"] == outgoing.HOUSEHOLD_FACTS_CHANGED
                     and e["data"]["household_id"] == family.household_id]
    assert facts_changed[-1]["data"]["facts"]["only_child"] is True


async def test_the_id_number_and_children_move_to_the_kept_record(registry, family) -> None:  # noqa: ANN001
    # The mother is on record twice: with her ID number in her husband's household, and without it as
    # the head of a second household in the same village, with the daughter linked to that record.
    await family.household()
    number = family.id_number(date(1968, 3, 2), female=True)
    await family.person("father", name="张国强", relation="head", sex="male", birth_date="1965-01-01")
    await family.person("mother", name="刘桂兰", relation="spouse", id_number=number, phone="13912345678")
    birth = (await registry.get(f"/v1/persons/{family.people['mother']}", headers=family.headers)).json()
    second = Family(registry, family.headers)
    await second.household()
    await second.person("mother", name="刘桂兰", relation="head", sex="female",
                        birth_date=birth["birth_date"])
    await second.person("daughter", name="张丽", relation="child", mother_id=second.people["mother"],
                        sex="female", birth_date="1992-02-02")
    assert (await second.facts())["only_child"] is True
    assert (await family.facts())["children_ever"] == 0

    answer = await _merge(registry, family.headers, keep=second.people["mother"],
                          merge=family.people["mother"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["moved_identifiers"] == ["id_number", "phone"]
    assert answer.json()["relinked_children"] == []
    kept = (await registry.get(f"/v1/persons/{second.people['mother']}", headers=family.headers)).json()
    assert kept["id_number"] == number[:6] + "********" + number[-4:] and kept["phone"] == "139****5678"
    found = (await registry.get("/v1/search/persons", params={"id_number": number},
                                headers=family.headers)).json()
    assert [p["id"] for p in found["items"]] == [second.people["mother"]]
    # The husband's household lost its spouse record; the kept mother heads her own household.
    assert [m["id"] for m in (await registry.get(f"/v1/households/{family.household_id}",
                                                 headers=family.headers)).json()["members"]] == [
        family.people["father"]]


async def test_children_of_the_merged_record_follow_to_the_kept_one(registry, family) -> None:  # noqa: ANN001
    await family.household()
    await family.person("mother", name="陈淑芬", relation="head", sex="female", birth_date="1971-07-07")
    second = Family(registry, family.headers)
    await second.household()
    await second.person("mother", name="陈淑芬", relation="head", sex="female", birth_date="1971-07-07")
    await second.person("son", name="陈亮", relation="child", mother_id=second.people["mother"], sex="male",
                        birth_date="1996-06-06")
    answer = await _merge(registry, family.headers, keep=family.people["mother"],
                          merge=second.people["mother"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["relinked_children"] == [second.people["son"]]
    son = (await registry.get(f"/v1/persons/{second.people['son']}", headers=family.headers)).json()
    assert son["mother_id"] == family.people["mother"]
    assert (await family.facts())["only_child"] is True  # the son now counts for the kept mother
    assert await _db(registry, "SELECT 1 FROM household_facts WHERE household_id = $1::uuid",
                     second.household_id) == []  # no head left there: no family to describe


async def test_merges_that_would_lose_or_confuse_data_are_refused(registry, family, tokens) -> None:  # noqa: ANN001
    await only_child_family(family)
    # Two records with ID numbers are two people.
    both = await _merge(registry, family.headers, family.people["father"], family.people["mother"])
    assert both.status_code == 409 and both.json()["type"] == "urn:guanhuai:problem:different-id-numbers"
    # A parent and their own child.
    parent = await _merge(registry, family.headers, family.people["mother"], family.people["daughter"])
    assert parent.status_code == 422
    itself = await _merge(registry, family.headers, family.people["mother"], family.people["mother"])
    assert itself.status_code == 422

    # The duplicate carries a death the kept record lacks: record it there first.
    born = (await registry.get(f"/v1/persons/{family.people['daughter']}", headers=family.headers)).json()
    await family.person("twin", name="王小红", relation="child", mother_id="mother", father_id="father",
                        sex="female", birth_date=born["birth_date"])
    death = await family.event("twin", kind="death", effective_date="2020-05-05")
    lost = await _merge(registry, family.headers, family.people["daughter"], family.people["twin"])
    assert lost.status_code == 409 and lost.json()["type"] == "urn:guanhuai:problem:merge-would-lose-events"
    assert lost.json()["events"] == [death["id"]] and lost.json()["kinds"] == ["death"]
    await family.event("daughter", kind="death", effective_date="2020-05-05")
    fine = await _merge(registry, family.headers, family.people["daughter"], family.people["twin"])
    assert fine.status_code == 200, fine.text
    facts = await family.facts()
    assert facts["bereaved"] is True and facts["children_ever"] == 1

    # Across jurisdictions: the other record is not there for this caller.
    prefecture = tokens.headers(roles=["admin"], region="3607", sub="admin-pref")
    elsewhere = Family(registry, prefecture)
    await elsewhere.household(division_code="360703000000")
    await elsewhere.person("head", name="王建国", relation="head", sex="male", birth_date="1966-05-01")
    across = await _merge(registry, family.headers, family.people["father"], elsewhere.people["head"])
    assert across.status_code == 404
    reverse = await _merge(registry, family.headers, elsewhere.people["head"], family.people["father"])
    assert reverse.status_code == 404

    for roles in (["auditor"], ["citizen"]):
        headers = tokens.headers(roles=roles, region=COUNTY, sub="someone")
        answer = await _merge(registry, headers, family.people["father"], family.people["mother"])
        assert answer.status_code == 403
    short = await registry.post(MERGE, headers=family.headers, json={
        "keep": family.people["father"], "merge": family.people["mother"], "reason": ""})
    assert short.status_code == 422


async def test_duplicates_are_listed_only_inside_the_jurisdiction(registry, tokens) -> None:  # noqa: ANN001
    prefecture = tokens.headers(roles=["admin"], region="3607", sub="admin-pref")
    elsewhere = Family(registry, prefecture)
    await elsewhere.household(division_code="360703000000")
    for key in ("a", "b"):
        await elsewhere.person(key, name="黄二妹", relation="head" if key == "a" else "other", sex="female",
                               birth_date="1950-10-10")
    county = tokens.headers(roles=["caseworker"], region=COUNTY, sub="cw-1")
    assert _group_of(await _all_groups(registry, county), elsewhere.people["a"]) is None
    theirs = tokens.headers(roles=["caseworker"], region="360703", sub="cw-ng")
    group = _group_of(await _all_groups(registry, theirs), elsewhere.people["a"])
    assert group is not None and group["village"] == "360703000000"
    assert {p["id"] for p in group["persons"]} == set(elsewhere.people.values())
    auditor = tokens.headers(roles=["auditor"], region="360703", sub="aud")
    assert (await registry.get("/v1/duplicates", headers=auditor)).status_code == 200
    citizen = tokens.headers(roles=["citizen"], region="360703", sub="c")
    assert (await registry.get("/v1/duplicates", headers=citizen)).status_code == 403


async def _published(client) -> list[dict]:  # noqa: ANN001
    import asyncio
    import json

    import nats

    app = client._transport.app
    await asyncio.sleep(0.5)
    nc = await nats.connect(app.state.settings.nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("REGISTRY")
        return [json.loads((await js.get_msg("REGISTRY", seq)).data)
                for seq in range(info.state.first_seq, info.state.last_seq + 1)]
    finally:
        await nc.close()
