"""What the parents of an only child who died are texted — only through public APIs and the SMS simulator.

A rural family in 沙石镇 示例一村 (father 56, mother 54, their only daughter). The county health
commission reports the daughter's death through the registry's partner intake; entitlements grants the
parents special assistance (cash, monthly), the fee-waiver card and, for the household, relief priority;
notifications texts them. The SMS names each benefit by its name in the policy library, the cash one with
its monthly amount, the card with what it gives (never "0.00元"), and each parent gets one SMS for the
decisions of that change (the rule in `notifications.service.digests`).
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import pytest
import pytest_asyncio
from families import Family, resident_id
from test_death_stops_payments import CHINA, VILLAGE, Health, until

from conftest import Platform, start_platform

HOLD_SECONDS = 4  # the notices' hold (5 minutes in production), short so the test is quick
PHONES = {"father": "13912340001", "mother": "13912340002"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(migrated_database, nats_url, fresh_streams) -> AsyncIterator[Platform]:  # noqa: ANN001
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NOTIFICATIONS_DECISION_HOLD_SECONDS", str(HOLD_SECONDS))
        async with start_platform(migrated_database, nats_url) as started:
            yield started


async def test_an_only_childs_death_texts_each_parent_once_naming_the_benefits(platform, tokens) -> None:  # noqa: ANN001
    county_cw = tokens.headers(roles=["caseworker"], region=VILLAGE[:6], sub="cw-county")
    county_admin = tokens.headers(roles=["admin"], region=VILLAGE[:6], sub="county-admin")
    async with platform.client("registry") as registry, platform.client("sms") as sms:
        partner = await registry.post(
            "/v1/partners", headers=county_admin,
            json={"agency": "health-sms", "name": "章贡区卫健委", "region": VILLAGE[:6]},
        )
        assert partner.status_code == 201, partner.text
        health = Health(registry, "health-sms", partner.json()["secret"])
        daughter_id = resident_id(date(1996, 6, 7), female=True)
        family = await Family(registry, county_cw).household(VILLAGE)
        await family.person("father", "谢国强", "head", date(1970, 1, 10), female=False, phone=PHONES["father"])
        await family.person("mother", "罗丽华", "spouse", date(1972, 3, 4), female=True, phone=PHONES["mother"])
        await family.person("daughter", "谢晓燕", "child", date(1996, 6, 7), female=True, mother_id="mother",
                            father_id="father", id_number=daughter_id)

        async def texts(parent: str) -> list[dict]:
            response = await sms.get("/_sim/messages", params={"phone": "+86" + PHONES[parent]})
            response.raise_for_status()
            return response.json()["messages"]

        await asyncio.sleep(1.0)
        assert await texts("father") == [] and await texts("mother") == []  # nothing decided before the death
        await health.death(daughter_id, datetime.now(CHINA).date() - timedelta(days=1))
        for parent in PHONES:
            await until(lambda p=parent: texts(p), f"the {parent}'s SMS", within=60)
        await asyncio.sleep(HOLD_SECONDS + 3)  # a second SMS of the same change would have come by now

        father, mother = await texts("father"), await texts("mother")
        assert len(father) == 1 and len(mother) == 1, (father, mother)
        for [text] in (father, mother):
            benefits = text["params"]["benefits"].split("；")
            assert "计划生育家庭特别扶助（独生子女死亡），每月170.00元" in benefits, benefits
            [card] = [b for b in benefits if b.startswith("计划生育家庭就医优惠")]
            assert "0.00" not in card and "元" not in card and "就医" in card
            assert not any("-" in b for b in benefits)  # no policy code
        # relief priority is a household decision: its head, the father, is told, inside the same SMS
        fathers = father[0]["params"]["benefits"].split("；")
        [priority] = [b for b in fathers if b.startswith("计划生育特殊家庭优先救助")]
        assert "0.00" not in priority and "优先受理" in priority
        assert not any(b.startswith("计划生育特殊家庭优先救助") for b in mother[0]["params"]["benefits"].split("；"))
