"""Jurisdiction (issue 13): every read, list and write of the registry is bounded by the caller's region,
taken from the token and compared with the stored record's division code; a citizen sees only their own
person and household.

The neighbour is a token of 360703 holding every role the registry knows (service included: a token's
region bounds all its roles); the families and the audit trail are of 360702."""

from datetime import date

import pytest
from registry_support import COUNTY, Family, only_child_family

from carekit.auth.principal import Role
from registry.adapters.import_files import csv_bytes

NEIGHBOUR = "360703"
NEIGHBOUR_CODE = "360703000000"  # the bundled code table has no village of 360703
ALL_ROLES = [role.value for role in Role]


def every_role(tokens, region: str, sub: str = "neighbour") -> dict[str, str]:  # noqa: ANN001
    return tokens.headers(roles=ALL_ROLES, region=region, sub=sub, agency="health-x", scopes=["pii:read"])


def citizen(tokens, person_id: str, region: str | None = None) -> dict[str, str]:  # noqa: ANN001
    return tokens.headers(roles=["citizen"], region=region, sub=person_id)


async def _revealed(client, tokens, person_id: str) -> None:  # noqa: ANN001
    reader = tokens.headers(roles=["caseworker"], region=COUNTY, sub="cw-pii", scopes=["pii:read"])
    answer = await client.get(f"/v1/persons/{person_id}", headers=reader,
                              params={"reveal": "true", "purpose": "发放前核对身份"})
    assert answer.status_code == 200, answer.text


async def _batch_read(client, tokens, person_ids: list[str]) -> dict:  # noqa: ANN001
    service = tokens.headers(roles=["service"], sub="service:relief", scopes=["pii:read"])
    answer = await client.post("/v1/persons/identifiers:batch", headers=service,
                               json={"person_ids": person_ids, "fields": ["name"], "purpose": "disbursement"})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _neighbour_family(client, tokens) -> Family:  # noqa: ANN001
    neighbour = Family(client, tokens.headers(roles=["caseworker"], region=NEIGHBOUR, sub="cw-703"))
    await neighbour.household(division_code=NEIGHBOUR_CODE)
    await neighbour.person("head", name="赵大", relation="head", sex="male", birth_date="1970-01-01")
    return neighbour


@pytest.mark.parametrize("who", ["auditor", "every_role"])
async def test_the_audit_trail_of_a_person_is_not_shown_to_another_county(family, tokens, who) -> None:  # noqa: ANN001
    await only_child_family(family)
    father = family.people["father"]
    await _revealed(family.client, tokens, father)
    outsider = (tokens.headers(roles=["auditor"], region=NEIGHBOUR, sub="aud-703") if who == "auditor"
                else every_role(tokens, NEIGHBOUR))

    asked = await family.client.get("/v1/audit", params={"person_id": father}, headers=outsider)
    assert asked.status_code == 404, asked.text
    assert asked.headers["content-type"] == "application/problem+json"
    listed = await family.client.get("/v1/audit", params={"limit": 200}, headers=outsider)
    assert listed.status_code == 200
    assert father not in {row["person_id"] for row in listed.json()["items"]}

    insider = tokens.headers(roles=["auditor"], region=COUNTY, sub="aud-702")
    mine = (await family.client.get("/v1/audit", params={"person_id": father}, headers=insider)).json()["items"]
    assert [(row["actor"], row["person_id"]) for row in mine] == [("cw-pii", father)]


async def test_a_batched_read_shows_each_auditor_only_the_persons_of_their_county(family, tokens) -> None:  # noqa: ANN001
    await only_child_family(family)
    neighbour = await _neighbour_family(family.client, tokens)
    ours, theirs = family.people["mother"], neighbour.people["head"]
    await _batch_read(family.client, tokens, [ours, theirs])

    def batched(answer) -> list[dict]:  # noqa: ANN001
        return [row for row in answer.json()["items"] if row["person_id"] is None]

    for region, seen in ((COUNTY, ours), (NEIGHBOUR, theirs)):
        auditor = tokens.headers(roles=["auditor"], region=region, sub=f"aud-{region}")
        rows = batched(await family.client.get("/v1/audit", params={"person_id": seen}, headers=auditor))
        assert [(row["person_ids"], row["person_count"]) for row in rows] == [([seen], 1)]


async def test_a_service_token_with_a_region_reads_identifiers_of_that_region_only(family, tokens) -> None:  # noqa: ANN001
    await only_child_family(family)
    father = family.people["father"]
    answer = await family.client.post("/v1/persons/identifiers:batch", headers=every_role(tokens, NEIGHBOUR), json={
        "person_ids": [father], "fields": ["name", "phone"], "purpose": "notification"})
    assert answer.status_code == 200
    assert answer.json()["persons"] == [] and answer.json()["missing"] == [father]
    assert (await _batch_read(family.client, tokens, [father]))["missing"] == []  # a service without a region


async def test_every_list_and_read_is_bounded_by_the_token_region(family, tokens) -> None:  # noqa: ANN001
    await only_child_family(family)
    household, father = family.household_id, family.people["father"]
    twin = Family(family.client, family.headers)  # a probable duplicate of the daughter, without ID number
    await twin.household()
    await twin.person("daughter", name="王小红", relation="head", sex="female", birth_date="1995-08-08")
    admin = tokens.headers(roles=["admin"], region=COUNTY, sub="admin-702")
    assert (await family.client.put("/v1/caseworkers/cw-1/villages", headers=admin,
                                    json={"villages": ["360702001001"]})).status_code == 200
    partner = {"agency": "health-360702-j", "name": "章贡区卫健委", "region": COUNTY}
    assert (await family.client.post("/v1/partners", headers=admin, json=partner)).status_code == 201
    visit = {"visited_on": "2025-02-01", "kind": "spring_festival"}
    assert (await family.client.post(f"/v1/households/{household}/visits", headers=family.headers,
                                     json=visit)).status_code == 201
    upload = csv_bytes([["household_ref", "division_code", "hukou_type", "name", "sex", "birth_date", "relation"],
                        ["J1", "360702001001", "rural", "钱一", "male", "1960-01-01", "head"]])
    job = await family.client.post("/v1/imports", headers=family.headers, files={"file": ("j.csv", upload)})
    assert job.status_code == 202, job.text

    reads = {
        f"/v1/households/{household}": {}, f"/v1/households/{household}/facts": {},
        f"/v1/households/{household}/events": {}, f"/v1/households/{household}/visits": {},
        f"/v1/persons/{father}": {}, f"/v1/persons/{father}/events": {}, f"/v1/imports/{job.json()['id']}": {},
        "/v1/stats": {"region": COUNTY},
    }
    lists = {
        "/v1/search/persons": {"name": "王"}, "/v1/duplicates": {}, "/v1/review-items": {"status": "all"},
        "/v1/worklist": {}, "/v1/partners": {},
    }
    for sub in ("neighbour", "cw-1"):  # cw-1 is the 360702 caseworker's subject: a sub gives no region
        neighbour = every_role(tokens, NEIGHBOUR, sub=sub)
        for path, params in reads.items():
            answer = await family.client.get(path, params=params, headers=neighbour)
            assert answer.status_code == 404, (path, answer.text)
        for path, params in lists.items():
            answer = await family.client.get(path, params=params, headers=neighbour)
            assert answer.status_code == 200, (path, answer.text)
            items = answer.json() if isinstance(answer.json(), list) else answer.json()["items"]
            assert items == [], (path, items)
        villages = await family.client.get("/v1/caseworkers/cw-1/villages", headers=neighbour)
        assert villages.json()["villages"] == []
        trail = (await family.client.get("/v1/audit", params={"limit": 200}, headers=neighbour)).json()["items"]
        assert not {row["person_id"] for row in trail} & set(family.people.values())

    # The insider control: the same requests with a 360702 token find them.
    insider = every_role(tokens, COUNTY, sub="cw-1")
    for path, params in reads.items():
        assert (await family.client.get(path, params=params, headers=insider)).status_code == 200, path
    for path in ("/v1/search/persons", "/v1/duplicates", "/v1/worklist", "/v1/partners"):
        answer = (await family.client.get(path, params=lists[path], headers=insider)).json()
        assert (answer if isinstance(answer, list) else answer["items"]), path


async def test_writes_by_a_neighbour_are_404_and_change_nothing(family, tokens) -> None:  # noqa: ANN001
    await only_child_family(family)
    household, father = family.household_id, family.people["father"]
    neighbour = every_role(tokens, NEIGHBOUR)
    writes = [
        ("post", f"/v1/households/{household}/visits", {"visited_on": "2025-02-01", "kind": "routine"}),
        ("post", f"/v1/households/{household}/events", {"kind": "residence_changed", "effective_date": "2025-01-01",
                                                         "residence_division_code": NEIGHBOUR_CODE}),
        ("post", f"/v1/persons/{father}/events", {"kind": "death", "effective_date": "2025-01-01"}),
        ("post", "/v1/persons", {"household_id": household, "name": "外人", "relation": "other", "sex": "male",
                                 "birth_date": "1990-01-01"}),
    ]
    for method, path, body in writes:
        answer = await family.client.request(method, path, json=body, headers=neighbour)
        assert answer.status_code == 404, (path, answer.text)
    patch = await family.client.patch(f"/v1/households/{household}", json={"address": "别处"},
                                      headers=neighbour | {"If-Match": '"x"'})
    assert patch.status_code == 404
    assert (await family.client.get(f"/v1/households/{household}/visits", headers=family.headers)).json()["items"] == []
    assert [e["kind"] for e in (await family.client.get(f"/v1/persons/{father}/events",
                                                        headers=family.headers)).json()] == ["birth"]


async def test_a_citizen_reads_their_own_person_and_household_and_nothing_else(family, tokens) -> None:  # noqa: ANN001
    await only_child_family(family)
    mother, daughter = family.people["mother"], family.people["daughter"]
    other = Family(family.client, family.headers)
    await other.household()
    await other.person("head", name="孙一", relation="head", sex="male", birth_date="1960-01-01")
    me = citizen(tokens, mother, region=COUNTY)  # a region in a citizen's token widens nothing

    own = await family.client.get(f"/v1/households/{family.household_id}", headers=me)
    assert own.status_code == 200, own.text
    assert {m["id"] for m in own.json()["members"]} == set(family.people.values())
    assert (await family.client.get(f"/v1/households/{family.household_id}/facts", headers=me)).status_code == 200
    myself = await family.client.get(f"/v1/persons/{mother}", headers=me)
    assert myself.status_code == 200 and myself.json()["id_number"].count("*") == 8

    for path in (f"/v1/persons/{daughter}", f"/v1/households/{other.household_id}",
                 f"/v1/households/{other.household_id}/facts", f"/v1/persons/{other.people['head']}"):
        answer = await family.client.get(path, headers=me)
        assert answer.status_code == 404, (path, answer.text)
    for path in (f"/v1/households/{family.household_id}/events", f"/v1/persons/{mother}/events",
                 f"/v1/households/{family.household_id}/visits", "/v1/search/persons?name=王", "/v1/duplicates",
                 "/v1/worklist", "/v1/review-items", "/v1/audit", "/v1/stats", "/v1/partners"):
        assert (await family.client.get(path, headers=me)).status_code == 403, path
    revealing = await family.client.get(f"/v1/persons/{mother}", headers=me,
                                        params={"reveal": "true", "purpose": "查看本人信息"})
    assert revealing.status_code == 403  # unmasking needs pii:read, which citizens do not hold
    change = await family.client.post(f"/v1/persons/{mother}/events", headers=me,
                                      json={"kind": "death", "effective_date": date.today().isoformat()})
    assert change.status_code == 403
    stranger = citizen(tokens, "not-a-person-id")
    assert (await family.client.get(f"/v1/households/{family.household_id}", headers=stranger)).status_code == 404


async def test_persons_named_in_a_body_must_be_in_the_callers_region(family, tokens) -> None:  # noqa: ANN001
    """A neighbour linking a child to a 360702 mother learnt her sex and age from the errors, and changed her
    household's facts (its children); named persons outside the region are answered as unknown."""
    await only_child_family(family)
    mother, father = family.people["mother"], family.people["father"]
    facts = await family.facts()
    neighbour = await _neighbour_family(family.client, tokens)
    child = await neighbour.client.post("/v1/persons", headers=neighbour.headers, json={
        "household_id": neighbour.household_id, "name": "赵小", "relation": "child", "sex": "male",
        "birth_date": "2010-01-01", "mother_id": mother})
    assert child.status_code == 422 and child.json()["errors"][0]["field"] == "mother_id", child.text
    marriage = await neighbour.client.post(f"/v1/persons/{neighbour.people['head']}/events", headers=neighbour.headers,
                                           json={"kind": "marriage", "effective_date": "2000-01-01",
                                                 "spouse_id": mother})
    assert marriage.status_code == 422 and marriage.json()["errors"][0]["field"] == "spouse_id", marriage.text
    adoption = await neighbour.client.post(f"/v1/persons/{neighbour.people['head']}/events",
                                           headers=neighbour.headers, json={
                                               "kind": "adopted", "effective_date": "2000-01-01",
                                               "parent_id": father, "role": "father"})
    assert adoption.status_code == 422 and adoption.json()["errors"][0]["field"] == "parent_id", adoption.text
    assert await family.facts() == facts
    unknown = await neighbour.client.post("/v1/persons", headers=neighbour.headers, json={
        "household_id": neighbour.household_id, "name": "赵小", "relation": "child", "sex": "male",
        "birth_date": "2010-01-01", "mother_id": "00000000-0000-4000-8000-000000000000"})
    assert unknown.json()["errors"][0]["message"] == child.json()["errors"][0]["message"]
