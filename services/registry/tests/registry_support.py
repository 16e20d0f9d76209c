"""A running registry on real PostgreSQL and NATS, and helpers to build families through its API.

The fixtures (`registry`, `caseworker`, `family`) reach every test module through conftest.py;
test modules import only the helpers they use."""

import itertools
from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
import pytest_asyncio
from stdnum.cn import ric

from carekit.testing.service import running
from registry.main import create_app
from registry.settings import RegistrySettings

COUNTY = "360702"
VILLAGE = "360702001001"  # in the bundled division table
OTHER_COUNTY_VILLAGE = "360703001001"


def resident_id(birth: date, *, female: bool, serial: int = 12, region: str = COUNTY) -> str:
    """A valid 18-character resident ID: region, birth date, sequence (odd male, even female), check."""
    sequence = serial * 10 + (2 if female else 1)
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def registry(migrated_database, nats_url) -> AsyncIterator:
    url = await migrated_database("registry")
    app = create_app(RegistrySettings(database_url=url, nats_url=nats_url, environment="test",
                                      outbox_poll_seconds=0.2))
    app.state.test_database_url = url
    async with running(app) as client:
        yield client


@pytest.fixture
def caseworker(tokens) -> dict[str, str]:
    return tokens.headers(roles=["caseworker"], region=COUNTY, sub="cw-1")


class Family:
    """Builds a household through the public API and remembers the ids."""

    _numbers = itertools.count(1)

    def __init__(self, client, headers) -> None:  # noqa: ANN001
        self.client, self.headers = client, headers
        self.household_id = ""
        self.people: dict[str, str] = {}
        self.n = next(self._numbers)  # families in one module share a database: their ID numbers differ

    def id_number(self, birth: date, *, female: bool) -> str:
        return resident_id(birth + timedelta(days=self.n // 90), female=female, serial=self.n % 90 + 1)

    async def household(self, **overrides) -> dict:  # noqa: ANN003
        body = {"division_code": VILLAGE, "hukou_type": "rural", "address": "章贡区某村1号"} | overrides
        response = await self.client.post("/v1/households", json=body, headers=self.headers)
        assert response.status_code == 201, response.text
        self.household_id = response.json()["id"]
        return response.json()

    async def person(self, key: str, **fields) -> dict:  # noqa: ANN003
        body = {"household_id": self.household_id} | fields
        for parent in ("mother_id", "father_id"):
            if body.get(parent) in self.people:
                body[parent] = self.people[body[parent]]
        response = await self.client.post("/v1/persons", json=body, headers=self.headers)
        assert response.status_code == 201, response.text
        self.people[key] = response.json()["id"]
        return response.json()

    async def event(self, key: str, **fields) -> dict:  # noqa: ANN003
        response = await self.client.post(f"/v1/persons/{self.people[key]}/events", json=fields,
                                          headers=self.headers)
        assert response.status_code == 201, response.text
        return response.json()

    async def facts(self, as_of: str | None = None) -> dict:
        params = {"as_of": as_of} if as_of else {}
        response = await self.client.get(f"/v1/households/{self.household_id}/facts", params=params,
                                         headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def family(registry, caseworker) -> Family:  # noqa: ANN001
    return Family(registry, caseworker)


async def only_child_family(family: Family) -> Family:
    await family.household()
    await family.person("father", name="王建国", relation="head",
                        id_number=family.id_number(date(1966, 5, 1), female=False), phone="13800138000")
    await family.person("mother", name="李秀英", relation="spouse",
                        id_number=family.id_number(date(1968, 3, 2), female=True))
    await family.person("daughter", name="王小红", relation="child", mother_id="mother", father_id="father",
                        id_number=family.id_number(date(1995, 8, 8), female=True))
    return family
