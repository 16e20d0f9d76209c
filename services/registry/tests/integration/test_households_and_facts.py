"""Households, persons, life events and as-of reads through the registry's API."""

from datetime import date

from registry_support import COUNTY, only_child_family

from registry.events import outgoing


async def test_only_child_family_then_bereavement_as_of(family) -> None:  # noqa: ANN001
    await only_child_family(family)
    facts = await family.facts()
    assert facts["only_child"] and facts["single_daughter"] and not facts["bereaved"]
    assert [p["age"] is not None for p in facts["parents"]] == [True, True]

    await family.event("daughter", kind="death", effective_date="2024-02-10")
    after = await family.facts()
    assert after["bereaved"] and not after["only_child"] and after["living_children"] == 0
    before = await family.facts(as_of="2024-02-09")
    assert before["only_child"] and not before["bereaved"]

    person = (await family.client.get(f"/v1/persons/{family.people['daughter']}", headers=family.headers)).json()
    assert person["alive"] is False and person["death_date"] == "2024-02-10"
    earlier = (await family.client.get(f"/v1/persons/{family.people['daughter']}",
                                       params={"as_of": "2020-01-01"}, headers=family.headers)).json()
    assert earlier["alive"] is True and earlier["death_date"] is None


async def test_a_correction_is_a_new_event_and_history_is_kept(family) -> None:  # noqa: ANN001
    await only_child_family(family)
    wrong = await family.event("daughter", kind="death", effective_date="2024-02-10")
    await family.event("daughter", kind="retracted", effective_date="2024-02-11", supersedes=wrong["id"])
    assert (await family.facts())["only_child"] is True
    events = (await family.client.get(f"/v1/persons/{family.people['daughter']}/events",
                                      headers=family.headers)).json()
    assert [e["kind"] for e in events] == ["birth", "death", "retracted"]
    again = await family.client.post(f"/v1/persons/{family.people['daughter']}/events", headers=family.headers,
                                     json={"kind": "retracted", "effective_date": "2024-02-12",
                                           "supersedes": wrong["id"]})
    assert again.status_code == 422  # the death was already retracted


async def test_disability_and_two_daughters(family) -> None:  # noqa: ANN001
    await family.household(hukou_type="urban")
    await family.person("mother", name="陈梅", relation="head", sex="female", birth_date="1975-01-01")
    await family.person("a", name="陈一", relation="child", mother_id="mother", sex="female",
                        birth_date="2000-01-01")
    await family.event("a", kind="disability_assessed", effective_date="2010-06-01", grade=2)
    facts = await family.facts()
    assert facts["disabled_only_child"] and facts["hukou_type"] == "urban"
    await family.person("b", name="陈二", relation="child", mother_id="mother", sex="female",
                        birth_date="2003-01-01")
    facts = await family.facts()
    assert facts["two_daughters"] and not facts["only_child"] and not facts["disabled_only_child"]
    before_sister = await family.facts(as_of="2002-12-31")  # an only child, not yet assessed (2010)
    assert before_sister["only_child"] is True and before_sister["disabled_only_child"] is False


async def test_migrant_household_is_seen_where_it_lives(registry, tokens) -> None:  # noqa: ANN001
    prefecture = tokens.headers(roles=["admin"], region="3607", sub="admin-1")
    created = await registry.post("/v1/households", headers=prefecture, json={
        "division_code": "360703000000", "hukou_type": "rural", "residence_division_code": "360702100201"})
    assert created.status_code == 201, created.text
    household = f"/v1/households/{created.json()['id']}"
    where_they_live = tokens.headers(roles=["caseworker"], region="360702100", sub="cw-town")
    elsewhere = tokens.headers(roles=["caseworker"], region="360704", sub="cw-other")
    assert (await registry.get(household, headers=where_they_live)).status_code == 200
    assert (await registry.get(household, headers=elsewhere)).status_code == 404


async def test_another_regions_caseworker_gets_404(family, tokens) -> None:  # noqa: ANN001
    await only_child_family(family)
    other = tokens.headers(roles=["caseworker"], region="360703", sub="cw-2")
    for path in (f"/v1/households/{family.household_id}", f"/v1/households/{family.household_id}/facts",
                 f"/v1/persons/{family.people['daughter']}"):
        response = await family.client.get(path, headers=other)
        assert response.status_code == 404, path
        assert response.json()["type"] == "urn:guanhuai:problem:not-found"
    township = tokens.headers(roles=["caseworker"], region="360702001", sub="cw-3")
    assert (await family.client.get(f"/v1/households/{family.household_id}", headers=township)).status_code == 200


async def test_events_out_carry_no_pii(registry, family) -> None:  # noqa: ANN001
    await only_child_family(family)
    await family.event("daughter", kind="death", effective_date="2024-02-10")
    published = await _published_events(registry)
    types = [e["type"] for e in published]
    assert outgoing.HOUSEHOLD_REGISTERED in types and outgoing.PERSON_DIED in types
    assert outgoing.HOUSEHOLD_FACTS_CHANGED in types
    text = str(published)
    for secret in ("王建国", "13800138000", family.id_number(date(1966, 5, 1), female=False)):
        assert secret not in text
    died = next(e for e in published if e["type"] == outgoing.PERSON_DIED)
    assert died["data"]["division_code"].startswith(COUNTY) and len(died["data"]["id_number_index"]) == 64
    facts_changed = [e for e in published if e["type"] == outgoing.HOUSEHOLD_FACTS_CHANGED]
    assert facts_changed[-1]["data"]["facts"]["bereaved"] is True


async def _published_events(client) -> list[dict]:  # noqa: ANN001
    import asyncio
    import json

    import nats

    app = client._transport.app
    await asyncio.sleep(0.5)
    nc = await nats.connect(app.state.settings.nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("REGISTRY")
        events = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            events.append(json.loads((await js.get_msg("REGISTRY", seq)).data))
        return events
    finally:
        await nc.close()
