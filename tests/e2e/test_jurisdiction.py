"""Who sees a family: a migrant family is served where it lives, and a caseworker of another township
sees nothing of it — in the registry and in the entitlements explanation alike (404, never 403)."""

import asyncio
from datetime import date

from families import Family

HOME = "360702100201"  # 沙石镇 示例一村 (hukou)
LIVES = "360702101201"  # 水东镇 示例三村 (where the family lives)
OTHER_TOWNSHIP = "360702001"  # 解放街道


async def _explained(client, person_id: str, headers: dict[str, str]) -> int:
    for _ in range(50):  # the entitlements projection follows the registry's events
        response = await client.get(f"/v1/persons/{person_id}/entitlements", headers=headers)
        if response.status_code == 200:
            return 200
        await asyncio.sleep(0.1)
    return response.status_code


async def test_migrant_family_is_served_where_it_lives_and_invisible_elsewhere(platform, tokens):
    county = tokens.headers(roles=["caseworker"], region="360702", sub="county-cw")
    at_home = tokens.headers(roles=["caseworker"], region=HOME[:9], sub="home-cw")
    where_it_lives = tokens.headers(roles=["caseworker"], region=LIVES[:9], sub="lives-cw")
    elsewhere = tokens.headers(roles=["caseworker"], region=OTHER_TOWNSHIP, sub="other-cw")
    async with platform.client("registry") as registry, platform.client("entitlements") as entitlements:
        family = await Family(registry, county).household(HOME, residence_division_code=LIVES)
        await family.person("father", "刘建华", "head", date(1962, 3, 1), female=False)
        await family.person("mother", "陈桂兰", "spouse", date(1964, 7, 9), female=True)
        await family.person(
            "son", "刘小军", "child", date(1990, 1, 2), female=False, mother_id="mother", father_id="father"
        )

        for headers in (at_home, where_it_lives):
            response = await registry.get(f"/v1/households/{family.household_id}", headers=headers)
            assert response.status_code == 200, response.text
        facts = (await registry.get(f"/v1/households/{family.household_id}/facts", headers=where_it_lives)).json()
        assert facts["migrant"] is True

        hidden = await registry.get(f"/v1/households/{family.household_id}", headers=elsewhere)
        assert hidden.status_code == 404
        assert hidden.headers["content-type"] == "application/problem+json"
        for person_id in family.people.values():
            assert (await registry.get(f"/v1/persons/{person_id}", headers=elsewhere)).status_code == 404
        search = await registry.get("/v1/search/persons", params={"name": "刘建华"}, headers=elsewhere)
        assert search.status_code == 200 and search.json()["items"] == []

        father = family.people["father"]
        assert await _explained(entitlements, father, where_it_lives) == 200
        assert await _explained(entitlements, father, at_home) == 200
        refused = await entitlements.get(f"/v1/persons/{father}/entitlements", headers=elsewhere)
        assert refused.status_code == 404
