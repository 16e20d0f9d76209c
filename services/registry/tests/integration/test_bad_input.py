"""Bad input: 422 problem+json naming the field, and nothing partly written."""

from datetime import date, timedelta

import asyncpg
import pytest
from registry_support import Family, resident_id

from carekit.db.engine import asyncpg_dsn

GOOD = resident_id(date(1980, 1, 1), female=False, serial=31)


async def count(client, table: str) -> int:  # noqa: ANN001
    conn = await asyncpg.connect(asyncpg_dsn(client._transport.app.state.test_database_url))
    try:
        return await conn.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await conn.close()


@pytest.mark.parametrize(("fields", "bad_field"), [
    ({"id_number": GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1")}, "id_number"),  # bad check character
    ({"id_number": GOOD, "birth_date": "1980-01-02"}, "birth_date"),  # disagrees with the number
    ({"id_number": GOOD, "sex": "female"}, "sex"),  # disagrees with the number
    ({"sex": "male", "birth_date": (date.today() + timedelta(days=3)).isoformat()}, "birth_date"),  # future
    ({"sex": "male"}, "birth_date"),  # neither ID nor birth date
    ({"id_number": GOOD, "phone": "12345"}, "phone"),
    ({"id_number": GOOD, "phone": "139abcd1234"}, "body.phone"),  # letters are not keypad digits (the schema)
    ({"id_number": GOOD, "phone": "１３９１２３４５６７８"}, "body.phone"),  # full-width digits
    ({"id_number": resident_id(date.today() + timedelta(days=400), female=True, serial=31)}, "id_number"),  # future
    ({"id_number": resident_id(date.today() + timedelta(days=400), female=True, serial=31),
      "birth_date": (date.today() + timedelta(days=400)).isoformat()}, "id_number"),
    ({"id_number": GOOD, "bank_card": "6222020200112233441"}, "bank_card"),  # Luhn fails
    ({"id_number": GOOD, "relation": "cousin"}, "body.relation"),
])
async def test_bad_person_is_refused_and_nothing_is_written(family, fields, bad_field) -> None:  # noqa: ANN001
    await family.household()
    persons, events = await count(family.client, "persons"), await count(family.client, "life_events")
    body = {"household_id": family.household_id, "name": "赵六", "relation": "head"} | fields
    response = await family.client.post("/v1/persons", json=body, headers=family.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["field"] == bad_field
    assert problem["errors"][0]["message_zh"]
    assert (await count(family.client, "persons"), await count(family.client, "life_events")) == (persons, events)


async def test_child_older_than_parent_and_death_before_birth(family) -> None:  # noqa: ANN001
    await family.household()
    await family.person("mother", name="孙丽", relation="head", sex="female", birth_date="1990-01-01")
    older = await family.client.post("/v1/persons", headers=family.headers, json={
        "household_id": family.household_id, "name": "孙小", "relation": "child", "sex": "male",
        "birth_date": "1985-01-01", "mother_id": family.people["mother"]})
    assert older.status_code == 422 and older.json()["errors"][0]["field"] == "mother_id"
    early = await family.client.post(f"/v1/persons/{family.people['mother']}/events", headers=family.headers,
                                     json={"kind": "death", "effective_date": "1989-12-31"})
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "effective_date"
    future = await family.client.post(f"/v1/persons/{family.people['mother']}/events", headers=family.headers,
                                      json={"kind": "death", "effective_date": "2999-01-01"})
    assert future.status_code == 422


async def test_unknown_or_malformed_division_code(registry, caseworker) -> None:  # noqa: ANN001
    unknown = await registry.post("/v1/households", headers=caseworker,
                                  json={"division_code": "360702999999", "hukou_type": "rural"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "division_code"
    malformed = await registry.post("/v1/households", headers=caseworker,
                                    json={"division_code": "36070", "hukou_type": "rural"})
    assert malformed.status_code == 422
    retired = await registry.post("/v1/households", headers=caseworker,
                                  json={"division_code": "360702191002", "hukou_type": "rural"})
    assert retired.status_code == 422 and "retired" in retired.json()["errors"][0]["message"]


async def test_duplicate_id_number_is_409_with_a_link(family) -> None:  # noqa: ANN001
    await family.household()
    first = await family.person("a", name="钱七", relation="head", id_number=GOOD)
    again = await family.client.post("/v1/persons", headers=family.headers, json={
        "household_id": family.household_id, "name": "钱七", "relation": "head", "id_number": GOOD.lower()})
    assert again.status_code == 409
    assert again.json()["type"] == "urn:guanhuai:problem:duplicate-person"
    assert again.json()["existing_person"] == f"/v1/persons/{first['id']}"


async def test_life_events_are_append_only_in_the_database(family) -> None:  # noqa: ANN001
    await family.household()
    await family.person("a", name="周八", relation="head", sex="male", birth_date="1970-01-01")
    conn = await asyncpg.connect(asyncpg_dsn(family.client._transport.app.state.test_database_url))
    try:
        for sql in ("UPDATE life_events SET effective_date = '2000-01-01'", "DELETE FROM life_events"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
    finally:
        await conn.close()


async def test_dates_are_days_written_yyyy_mm_dd(family) -> None:  # noqa: ANN001
    """pydantic alone reads 0 as 1970-01-01 and a midnight date-time as a day: a date silently made up."""
    await family.household()
    visits = f"/v1/households/{family.household_id}/visits"
    for day in (0, "0", "2020-01-01T00:00:00", "20200101"):
        answer = await family.client.post(visits, headers=family.headers, json={"visited_on": day, "kind": "routine"})
        assert answer.status_code == 422, (day, answer.text)
        assert answer.json()["errors"][0]["field"] == "body.visited_on"
    as_of = await family.client.get(f"/v1/households/{family.household_id}", params={"as_of": "0"},
                                    headers=family.headers)
    assert as_of.status_code == 422 and as_of.json()["errors"][0]["field"] == "query.as_of"
    assert (await family.client.get(visits, headers=family.headers)).json()["items"] == []


async def test_a_residence_change_names_a_code_in_force(family) -> None:  # noqa: ANN001
    await family.household()
    events = f"/v1/households/{family.household_id}/events"
    for code, field in (("360702999999", "residence_division_code"),  # not in the code table
                        ("３６０７０２００１００１", "body.residence_division_code")):  # full-width digits
        answer = await family.client.post(events, headers=family.headers, json={
            "kind": "residence_changed", "effective_date": "2024-01-01", "residence_division_code": code})
        assert answer.status_code == 422, (code, answer.text)
        assert answer.json()["errors"][0]["field"] == field
    assert (await family.client.get(events, headers=family.headers)).json() == []


async def test_nul_characters_are_refused_naming_the_field(family) -> None:  # noqa: ANN001
    """PostgreSQL text cannot hold NUL: refused with the field named (the kit's rule), never a 500."""
    household = await family.client.post("/v1/households", headers=family.headers, json={
        "division_code": "360702001001", "hukou_type": "rural", "address": "章贡区\x00某村"})
    assert household.status_code == 422, household.text
    assert household.json()["errors"][0]["field"].endswith("address")
    await family.household()
    person = await family.client.post("/v1/persons", headers=family.headers, json={
        "household_id": family.household_id, "name": "王\x00五", "relation": "head", "sex": "male",
        "birth_date": "1970-01-01"})
    assert person.status_code == 422, person.text
    assert person.json()["errors"][0]["field"].endswith("name")
    visit = await family.client.post(f"/v1/households/{family.household_id}/visits", headers=family.headers,
                                     json={"visited_on": "2024-01-01", "kind": "routine", "notes": "送米\x00油"})
    assert visit.status_code == 422, visit.text
    assert visit.json()["errors"][0]["field"].endswith("notes")


async def test_event_kinds_are_those_of_the_record_they_are_posted_on(family) -> None:  # noqa: ANN001
    """The OpenAPI lists per endpoint the kinds the server takes (a schema-valid kind was refused)."""
    await family.household()
    await family.person("head", name="周九", relation="head", sex="male", birth_date="1970-01-01")
    household = await family.client.post(f"/v1/households/{family.household_id}/events", headers=family.headers,
                                         json={"kind": "death", "effective_date": "2024-01-01"})
    person = await family.client.post(f"/v1/persons/{family.people['head']}/events", headers=family.headers,
                                      json={"kind": "residence_changed", "effective_date": "2024-01-01"})
    for answer in (household, person):
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "body.kind", answer.text
    schemas = (await family.client.get("/openapi.json")).json()["components"]["schemas"]
    assert "death" not in schemas["HouseholdEventCreate"]["properties"]["kind"]["enum"]
    assert "residence_changed" not in schemas["PersonEventCreate"]["properties"]["kind"]["enum"]


async def test_a_long_token_subject_is_recorded_whole(registry, tokens) -> None:  # noqa: ANN001
    """The longest subject a token may carry (128 characters, the kit's claims check) is stored whole."""
    subject = "cw-" + "x" * 125
    headers = tokens.headers(roles=["caseworker", "admin"], region="360702", sub=subject, scopes=["pii:read"])
    family = Family(registry, headers)
    await family.household()
    await family.person("head", name="吴十", relation="head", sex="male", birth_date="1970-01-01")
    visit = await registry.post(f"/v1/households/{family.household_id}/visits", headers=headers,
                                json={"visited_on": "2024-01-01", "kind": "routine"})
    assert visit.status_code == 201 and visit.json()["caseworker"] == subject, visit.text
    death = await family.event("head", kind="death", effective_date="2024-02-01")
    assert death["recorded_by"] == subject
    villages = await registry.put(f"/v1/caseworkers/{subject}/villages", headers=headers,
                                  json={"villages": ["360702001001"]})
    assert villages.status_code == 200, villages.text
    read = await registry.get(f"/v1/persons/{family.people['head']}", headers=headers,
                              params={"reveal": "true", "purpose": "核对身份信息"})
    assert read.status_code == 200
    auditor = tokens.headers(roles=["auditor"], region="360702", sub="aud-long")
    trail = await registry.get("/v1/audit", params={"actor": subject}, headers=auditor)
    assert [row["actor"] for row in trail.json()["items"]] == [subject]


async def test_a_certificate_number_held_by_another_household_is_refused(family) -> None:  # noqa: ANN001
    """It was a 500 (the unique index on certificates.number)."""
    issued = {"kind": "certificate_issued", "effective_date": "2010-05-01", "certificate_number": "赣-HOLD-0001"}
    await family.household()
    first = await family.client.post(f"/v1/households/{family.household_id}/events", headers=family.headers,
                                     json=issued)
    assert first.status_code == 201, first.text
    await family.household()
    again = await family.client.post(f"/v1/households/{family.household_id}/events", headers=family.headers,
                                     json=issued)
    assert again.status_code == 422, again.text
    assert again.json()["errors"][0]["field"] == "certificate_number"
    assert (await family.client.get(f"/v1/households/{family.household_id}/events", headers=family.headers)
            ).json() == []
