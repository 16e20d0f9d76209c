"""`GET /v1/households/{id}` reads the household in one statement: members as of the day (including
people who have since moved away), who is alive on that day, residence changes, ETag and 404s."""

from registry_support import Family, only_child_family


async def _members(family: Family, household_id: str, as_of: str | None = None) -> list[tuple[str, bool]]:
    params = {"as_of": as_of} if as_of else {}
    response = await family.client.get(f"/v1/households/{household_id}", params=params, headers=family.headers)
    assert response.status_code == 200, response.text
    return [(m["name"], m["alive"]) for m in response.json()["members"]]


async def test_members_as_of_a_day_follow_moves_and_deaths(family, registry, caseworker) -> None:  # noqa: ANN001
    await only_child_family(family)
    first = family.household_id
    other = Family(registry, caseworker)
    await other.household(address="章贡区某村2号")
    moved = await family.client.post(f"/v1/persons/{family.people['daughter']}/events", headers=family.headers,
                                     json={"kind": "moved_in", "effective_date": "2021-05-01",
                                           "household_id": other.household_id})
    assert moved.status_code == 201, moved.text
    await family.event("father", kind="death", effective_date="2023-03-03")

    assert await _members(family, first, "2021-04-30") == [("王建国", True), ("李秀英", True), ("王小红", True)]
    assert await _members(family, first, "2022-01-01") == [("王建国", True), ("李秀英", True)]
    assert await _members(family, first) == [("王建国", False), ("李秀英", True)]
    assert await _members(family, other.household_id, "2021-04-30") == []
    assert await _members(family, other.household_id) == [("王小红", True)]
    assert await _members(family, first, "1960-01-01") == []  # before anyone was born


async def test_residence_as_of_etag_and_unknown_household(family) -> None:  # noqa: ANN001
    await only_child_family(family)
    changed = await family.client.post(f"/v1/households/{family.household_id}/events", headers=family.headers,
                                       json={"kind": "residence_changed", "effective_date": "2022-02-02",
                                             "residence_division_code": "360702100201"})
    assert changed.status_code == 201, changed.text
    path = f"/v1/households/{family.household_id}"
    now = await family.client.get(path, headers=family.headers)
    before = await family.client.get(path, params={"as_of": "2022-02-01"}, headers=family.headers)
    assert now.json()["residence_division_code"] == "360702100201"
    assert before.json()["residence_division_code"] is None
    assert now.headers["etag"] == f'W/"{family.household_id}-{now.json()["version"]}"' and now.json()["version"] == 2
    missing = await family.client.get("/v1/households/00000000-0000-7000-8000-000000000000", headers=family.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
