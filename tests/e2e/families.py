"""Building families through the registry's public API, as a caseworker would."""

import itertools
from dataclasses import dataclass, field
from datetime import date

import httpx
from stdnum.cn import ric

_serial = itertools.count(1)


def resident_id(birth: date, *, female: bool, region: str = "360702") -> str:
    n = next(_serial)
    body = f"{region}{birth:%Y%m%d}{(n % 499) * 2 + (0 if female else 1):03d}"  # odd for men
    return body + ric.calc_check_digit(body + "0")


@dataclass
class Family:
    client: httpx.AsyncClient
    headers: dict[str, str]
    household_id: str = ""
    people: dict[str, str] = field(default_factory=dict)

    async def household(self, division_code: str, **extra: object) -> "Family":
        body = {"division_code": division_code, "hukou_type": "rural", "address": "章贡区某村1号", **extra}
        response = await self.client.post("/v1/households", json=body, headers=self.headers)
        assert response.status_code == 201, response.text
        self.household_id = response.json()["id"]
        return self

    async def person(self, key: str, name: str, relation: str, birth: date, *, female: bool, **extra: object) -> str:
        body = {
            "household_id": self.household_id,
            "name": name,
            "relation": relation,
            "id_number": resident_id(birth, female=female),
            "phone": _phone(),
            "bank_card": _card(),
            **extra,
        }
        for parent in ("mother_id", "father_id"):
            if body.get(parent) in self.people:
                body[parent] = self.people[str(body[parent])]
        response = await self.client.post("/v1/persons", json=body, headers=self.headers)
        assert response.status_code == 201, response.text
        self.people[key] = response.json()["id"]
        return self.people[key]

    async def event(self, key: str, **body: object) -> None:
        response = await self.client.post(f"/v1/persons/{self.people[key]}/events", json=body, headers=self.headers)
        assert response.status_code == 201, response.text


_phones = itertools.count(13800000001)


def _phone() -> str:
    return str(next(_phones))


def _card() -> str:
    from stdnum import luhn

    body = f"621799{next(_serial):012d}"
    return body + luhn.calc_check_digit(body)
