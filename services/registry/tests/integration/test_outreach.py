"""Outreach (包村包户): village assignments, the worklist order, the visit log."""

from datetime import date, timedelta

from registry_support import COUNTY, VILLAGE, Family, only_child_family

from registry.api.deps import today as china_today

WORK_VILLAGE = "360702101201"  # only the worklist test registers households here
TOWNSHIP_VILLAGES = ("360702100201", "360702100202")


def _admin(tokens, region: str = COUNTY, sub: str = "admin-1") -> dict[str, str]:  # noqa: ANN001
    return tokens.headers(roles=["admin"], region=region, sub=sub)


async def _put(registry, headers: dict, sub: str, villages: list[str]):  # noqa: ANN001, ANN202
    return await registry.put(f"/v1/caseworkers/{sub}/villages", headers=headers, json={"villages": villages})


async def test_an_admin_assigns_villages_inside_their_region(registry, tokens) -> None:  # noqa: ANN001
    county, township = _admin(tokens), _admin(tokens, "360702100", "admin-town")
    answer = await _put(registry, county, "cw-a", [TOWNSHIP_VILLAGES[0], VILLAGE, VILLAGE])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"caseworker": "cw-a", "villages": [
        {"code": VILLAGE, "name": "示例社区居委会（待核实）"},
        {"code": TOWNSHIP_VILLAGES[0], "name": "示例一村村委会（待核实）"}]}

    # The township admin replaces what lies in the township and cannot see or touch the rest.
    answer = await _put(registry, township, "cw-a", [TOWNSHIP_VILLAGES[1]])
    assert [v["code"] for v in answer.json()["villages"]] == [TOWNSHIP_VILLAGES[1]]
    seen_by_county = await registry.get("/v1/caseworkers/cw-a/villages", headers=county)
    assert [v["code"] for v in seen_by_county.json()["villages"]] == [VILLAGE, TOWNSHIP_VILLAGES[1]]

    own = tokens.headers(roles=["caseworker"], region=COUNTY, sub="cw-a")
    assert [v["code"] for v in (await registry.get("/v1/caseworkers/cw-a/villages", headers=own)).json()[
        "villages"]] == [VILLAGE, TOWNSHIP_VILLAGES[1]]
    other = tokens.headers(roles=["caseworker"], region=COUNTY, sub="cw-b")
    assert (await registry.get("/v1/caseworkers/cw-a/villages", headers=other)).status_code == 403
    assert (await _put(registry, own, "cw-a", [VILLAGE])).status_code == 403  # admins assign

    cleared = await _put(registry, county, "cw-a", [])
    assert cleared.status_code == 200 and cleared.json()["villages"] == []


async def test_bad_villages_are_refused_and_nothing_changes(registry, tokens) -> None:  # noqa: ANN001
    county, township = _admin(tokens), _admin(tokens, "360702100", "admin-town")
    assert (await _put(registry, county, "cw-c", [VILLAGE])).status_code == 200
    for headers, villages, field in (
        (county, [VILLAGE, "360702100000"], "villages[1]"),  # a township, not a village
        (county, ["360702100299"], "villages[0]"),  # not in the code table
        (county, ["360702191002"], "villages[0]"),  # retired in 2023
        (county, ["36070210020"], "body.villages.0"),  # 11 digits: refused by the schema
        (township, [VILLAGE], "villages[0]"),  # outside the township admin's region
    ):
        answer = await _put(registry, headers, "cw-c", villages)
        assert answer.status_code == 422, (villages, answer.text)
        assert answer.json()["errors"][0]["field"] == field
    kept = await registry.get("/v1/caseworkers/cw-c/villages", headers=county)
    assert [v["code"] for v in kept.json()["villages"]] == [VILLAGE]


async def test_the_worklist_puts_care_first_then_households_not_visited_this_year(
        registry, tokens) -> None:  # noqa: ANN001
    cw = tokens.headers(roles=["caseworker"], region=COUNTY, sub="cw-work")
    assert (await _put(registry, _admin(tokens), "cw-work", [WORK_VILLAGE])).status_code == 200
    today = china_today()

    async def build(kind: str) -> Family:
        fam = Family(registry, cw)
        if kind == "migrant":  # registered in another village, lives in ours
            await fam.household(division_code=VILLAGE, residence_division_code=WORK_VILLAGE)
        else:
            await fam.household(division_code=VILLAGE if kind == "elsewhere" else WORK_VILLAGE)
        await fam.person("mother", name="周芳", relation="head", sex="female", birth_date="1970-04-04")
        await fam.person("child", name="周一", relation="child", mother_id="mother", sex="male",
                         birth_date="1995-05-05")
        if kind == "bereaved":
            await fam.event("child", kind="death", effective_date="2022-02-02")
        if kind == "disabled":
            await fam.event("child", kind="disability_assessed", effective_date="2015-01-01", grade=1)
        return fam

    async def visit(fam: Family, day: date, kind: str = "routine") -> None:
        answer = await registry.post(f"/v1/households/{fam.household_id}/visits", headers=cw,
                                     json={"visited_on": day.isoformat(), "kind": kind, "notes": "送慰问品"})
        assert answer.status_code == 201, answer.text

    never = await build("plain")
    last_year = await build("plain")
    await visit(last_year, date(today.year - 1, 12, 31), "spring_festival")
    seen = await build("plain")
    await visit(seen, date(today.year, 1, 1))
    bereaved = await build("bereaved")
    disabled = await build("disabled")
    await visit(disabled, date(today.year, 1, 1), "psychological_support")
    migrant = await build("migrant")
    elsewhere = await build("elsewhere")

    listing = await registry.get("/v1/worklist", headers=cw)
    assert listing.status_code == 200, listing.text
    items = listing.json()["items"]
    ids = [item["household_id"] for item in items]
    care = {bereaved.household_id, disabled.household_id}
    assert set(ids[:2]) == care
    assert ids[0] == bereaved.household_id  # never visited before visited, inside the tier
    assert set(ids[2:5]) == {never.household_id, migrant.household_id, last_year.household_id}
    assert ids[4] == last_year.household_id  # never visited first, then the longest since a visit
    assert ids[5:] == [seen.household_id]
    assert elsewhere.household_id not in ids

    by_id = {item["household_id"]: item for item in items}
    assert by_id[bereaved.household_id]["categories"] == ["bereaved"]
    assert by_id[bereaved.household_id]["priority"] == "care"
    assert by_id[disabled.household_id]["categories"] == ["only_child", "disabled_only_child"]
    assert by_id[disabled.household_id]["last_visit"] == date(today.year, 1, 1).isoformat()
    assert by_id[never.household_id]["categories"] == ["only_child"]
    assert by_id[never.household_id]["priority"] == "not_visited_this_year"
    assert by_id[never.household_id]["last_visit"] is None
    assert by_id[last_year.household_id]["last_visit"] == date(today.year - 1, 12, 31).isoformat()
    assert by_id[migrant.household_id]["village"] == WORK_VILLAGE  # served where it lives
    assert "migrant" in by_id[migrant.household_id]["categories"]
    assert by_id[seen.household_id]["priority"] == "visited_this_year"
    assert by_id[seen.household_id]["village"] == WORK_VILLAGE

    walked, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await registry.get("/v1/worklist", params=params, headers=cw)).json()
        walked += [item["household_id"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert walked == ids

    nobody = tokens.headers(roles=["caseworker"], region=COUNTY, sub="cw-unassigned")
    assert (await registry.get("/v1/worklist", headers=nobody)).json() == {"items": [], "next_cursor": None}
    # Assigned villages outside the caseworker's own region list nothing from there.
    narrow = tokens.headers(roles=["caseworker"], region="360702100", sub="cw-work")
    assert (await registry.get("/v1/worklist", headers=narrow)).json()["items"] == []


async def test_visit_log(family, tokens) -> None:  # noqa: ANN001
    await only_child_family(family)
    path = f"/v1/households/{family.household_id}/visits"
    today = china_today()
    for n, kind in enumerate(("spring_festival", "home_service", "health_check")):
        day = today - timedelta(days=30 * (3 - n))
        answer = await family.client.post(path, headers=family.headers, json={
            "visited_on": day.isoformat(), "kind": kind, "notes": f"第{n + 1}次"})
        assert answer.status_code == 201, answer.text
        assert answer.json()["caseworker"] == "cw-1" and answer.json()["kind"] == kind
    listing = await family.client.get(path, headers=family.headers)
    assert [v["kind"] for v in listing.json()["items"]] == ["health_check", "home_service", "spring_festival"]
    first = await family.client.get(path, params={"limit": 2}, headers=family.headers)
    rest = await family.client.get(path, params={"limit": 2, "cursor": first.json()["next_cursor"]},
                                   headers=family.headers)
    assert [v["id"] for v in first.json()["items"] + rest.json()["items"]] == [
        v["id"] for v in listing.json()["items"]]
    assert rest.json()["next_cursor"] is None

    future = await family.client.post(path, headers=family.headers, json={
        "visited_on": (today + timedelta(days=1)).isoformat(), "kind": "routine"})
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "visited_on"
    odd = await family.client.post(path, headers=family.headers, json={
        "visited_on": today.isoformat(), "kind": "inspection"})
    assert odd.status_code == 422 and odd.json()["errors"][0]["field"] == "body.kind"

    other = tokens.headers(roles=["caseworker"], region="360703", sub="cw-other")
    assert (await family.client.get(path, headers=other)).status_code == 404
    refused = await family.client.post(path, headers=other, json={"visited_on": today.isoformat(),
                                                                   "kind": "routine"})
    assert refused.status_code == 404
    citizen = tokens.headers(roles=["citizen"], region=COUNTY)
    assert (await family.client.get(path, headers=citizen)).status_code == 403
    auditor = tokens.headers(roles=["auditor"], region=COUNTY)
    assert (await family.client.get(path, headers=auditor)).status_code == 200
