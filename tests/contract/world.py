"""A small world in county 360702, built only through the four services' public APIs, for the jurisdiction
matrix: a household with parents and a child (and a duplicate record of the father), a visit, an import,
partners of 360702 and of the neighbouring 360703 (whose death report about the father is parked for
review), the projection in entitlements, an approved childcare cycle and a second cycle to approve, an
appeal, relief funds, applications and the cycle's payment batch, and a webhook subscription with
deliveries. Every id the operations need is kept, and so is every value that must never reach an outsider.
"""

import asyncio
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
from families import Family, resident_id
from standardwebhooks import Webhook

from carekit.auth.principal import Role

INSIDE, OUTSIDE = "360702", "360703"  # the county of the world and its neighbour
VILLAGE = "360702100201"  # 沙石镇 示例一村
NEIGHBOUR_VILLAGE = "360703100201"
HUMAN_ROLES = [role.value for role in Role if role != Role.SERVICE]
CHILDCARE = "childcare-subsidy-2025"
CHILDCARE_FUND = "CHILDCARE-SUBSIDY"  # the fund the policy library names
CARE_FUND = "care-360702"
SCOPES = ["pii:read"]  # unmasked identifiers (the registry's audited reads)
WAIT = 60.0  # seconds for one asynchronous step (events between services) on a loaded machine


class Tokens:
    """Headers for a caller of `region` holding `roles` (every human role by default); `sub` tells callers
    apart where maker and checker must differ."""

    def __init__(self, factory: Any) -> None:  # carekit.testing.tokens.TokenFactory
        self.factory = factory

    def headers(self, region: str, *, roles: list[str] | None = None, sub: str | None = None,
                agency: str | None = None) -> dict[str, str]:
        agency = agency or f"health-{region}"
        return self.factory.headers(roles=roles or HUMAN_ROLES, region=region, sub=sub or f"staff-{region}",
                                    agency=agency, ttl_seconds=3600, scopes=SCOPES)


@dataclass
class World:
    platform: Any
    tokens: Tokens
    ids: dict[str, str] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)  # values of the world no outsider may ever see

    def keep(self, name: str, value: Any, *, secret: bool = True) -> str:
        self.ids[name] = str(value)
        if secret:
            self.secrets.add(str(value))
        return str(value)

    def __getitem__(self, name: str) -> str:
        return self.ids[name]

    async def call(self, service: str, method: str, path: str, headers: dict[str, str], **kwargs: Any
                   ) -> httpx.Response:
        async with httpx.AsyncClient(base_url=getattr(self.platform, service), timeout=60) as client:
            return await client.request(method, path, headers=headers, **kwargs)

    async def ok(self, service: str, method: str, path: str, headers: dict[str, str] | None = None,
                 **kwargs: Any) -> Any:
        response = await self.call(service, method, path, headers or self.insider(), **kwargs)
        assert response.is_success, f"building the world: {method} {service} {path} → {response.status_code} " \
                                    f"{response.text[:600]}"
        return response.json() if response.content else None

    def insider(self, **kwargs: Any) -> dict[str, str]:
        return self.tokens.headers(INSIDE, **kwargs)

    def outsider(self, **kwargs: Any) -> dict[str, str]:
        return self.tokens.headers(OUTSIDE, **kwargs)


async def eventually(probe: Callable[[], Awaitable[Any]], what: str, within: float = WAIT) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = await probe()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, f"building the world: no {what} within {within} s"
        await asyncio.sleep(0.3)


_serial = itertools.count(1)


async def build_world(platform: Any, token_factory: Any) -> World:
    world = World(platform, Tokens(token_factory))
    world.secrets.update({INSIDE, VILLAGE})  # no answer to the neighbour names our county or village
    await _registry(world)
    await _notifications(world)  # first, so that the events of what follows are delivered to it
    await _entitlements(world)
    await _relief(world)
    return world


# -- registry ---------------------------------------------------------------------------------------------


async def _registry(world: World) -> None:
    async with httpx.AsyncClient(base_url=world.platform.registry, timeout=60) as client:
        family = await Family(client, world.insider(sub="registrar")).household(VILLAGE, address="沙石镇示例一村8号")
        father_born, mother_born = date(1991, 4, 2), date(1993, 8, 9)
        await family.person("father", "钟立新", "head", father_born, female=False)
        await family.person("mother", "温秀梅", "spouse", mother_born, female=True)
        await family.person("child", "钟小禾", "child", date(2025, 3, 1), female=False,
                            mother_id="mother", father_id="father")
        await family.person("twin", "钟立新", "other", father_born, female=False, id_number=None,
                            birth_date=father_born.isoformat(), sex="male")  # a record of the father, no ID
        await family.person("spare", "钟立民", "other", date(1995, 1, 1), female=False)  # for a person event
    async with httpx.AsyncClient(base_url=world.platform.registry, timeout=60) as client:
        other = await Family(client, world.insider(sub="registrar")).household(VILLAGE, address="沙石镇示例一村12号")
        world.ids["other_citizen"] = await other.person("self", "曾桂香", "head", date(1970, 6, 6), female=True)
        world.ids["other_household"] = other.household_id  # a family of the same county, not the world's
    world.keep("household", family.household_id)
    for key, person_id in family.people.items():
        world.keep(key, person_id)
    for name in ("钟立新", "温秀梅", "钟小禾", "沙石镇示例一村8号"):
        world.secrets.add(name)
    father = await world.ok("registry", "GET", f"/v1/persons/{world['father']}",
                            params={"reveal": "true", "purpose": "jurisdiction matrix"})  # an audit row
    world.keep("father_id_number", father["id_number"])
    world.keep("father_phone", father["phone"])
    child = await world.ok("registry", "GET", f"/v1/persons/{world['child']}",
                           params={"reveal": "true", "purpose": "jurisdiction matrix"})
    world.keep("child_id_number", child["id_number"])
    await world.ok("registry", "POST", f"/v1/households/{world['household']}/visits",
                   json={"visited_on": date.today().isoformat(), "kind": "routine", "notes": "入户走访"})
    await world.ok("registry", "PUT", "/v1/caseworkers/village-caseworker/villages", json={"villages": [VILLAGE]})
    await _import(world)
    await _partners(world)


async def _import(world: World) -> None:
    number = resident_id(date(1960, 1, 1), female=True)
    csv = ("household_ref,division_code,hukou_type,name,id_number,relation\n"
           f"IMP-1,{VILLAGE},rural,廖春花,{number},head\n"
           f"IMP-1,{VILLAGE},rural,廖秋,1234,spouse\n")  # one row refused: an import with errors
    job = await world.ok("registry", "POST", "/v1/imports", files={"file": ("matrix.csv", csv.encode(), "text/csv")})
    world.keep("import", job["id"])
    world.secrets.update({"廖春花", number})

    async def finished() -> bool:
        found = await world.ok("registry", "GET", f"/v1/imports/{world['import']}")
        return found.get("status") not in ("queued", "running", "pending")

    await eventually(finished, "finished import")


async def _partners(world: World) -> None:
    """Health partners of both counties; the neighbour's death report about our father is parked."""
    secrets = {}
    for county in (INSIDE, OUTSIDE):
        body = {"agency": f"health-{county}", "name": f"{county} 卫生健康委员会", "region": county}
        created = await world.ok("registry", "POST", "/v1/partners", world.tokens.headers(county, sub="partner-admin"),
                                 json=body)
        secrets[county] = created["secret"]
    event = {
        "specversion": "1.0", "id": str(uuid.uuid4()), "type": "gov.health.death_reported",
        "source": f"/partners/health-{OUTSIDE}", "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "data": {"id_number": world["father_id_number"], "died_on": date.today().isoformat()},
    }
    answer = await _partner_event(world, OUTSIDE, secrets[OUTSIDE], event)
    assert answer["outcome"] == "parked", f"a 360703 partner's report about a 360702 person was {answer}"
    world.keep("review_item", answer["review_item_id"])
    world.ids["partner_secret_inside"] = secrets[INSIDE]


async def _partner_event(world: World, county: str, secret: str, event: dict[str, Any]) -> Any:
    body = json.dumps(event, ensure_ascii=False)
    msg_id, now = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(secret).sign(msg_id, now, body),
               "content-type": "application/cloudevents+json"}
    return await world.ok("registry", "POST", "/v1/partner-events", headers, content=body.encode())


# -- entitlements -----------------------------------------------------------------------------------------


async def _entitlements(world: World) -> None:
    async def projected() -> bool:
        response = await world.call("entitlements", "GET", f"/v1/persons/{world['child']}/entitlements",
                                    world.insider())
        return response.status_code == 200

    await eventually(projected, "projection of the child in entitlements")
    period = str(date.today().year)
    world.keep("cycle", await _ready_cycle(world, CHILDCARE, period))
    await world.ok("entitlements", "POST", f"/v1/cycles/{world['cycle']}/approve", world.insider(sub="approver"))
    world.keep("open_cycle", await _ready_cycle(world, "special-assistance-disabled", f"{date.today():%Y-%m}"))
    appeal = await world.ok("entitlements", "POST", "/v1/appeals",
                            json={"person_id": world["mother"], "policy": CHILDCARE, "reason": "她照顾孩子"})
    world.keep("appeal", appeal["id"])


async def _ready_cycle(world: World, policy: str, period: str) -> str:
    cycle = await world.ok("entitlements", "POST", "/v1/cycles", world.insider(sub="cycle-maker"),
                           json={"policy": policy, "period": period})

    async def ready() -> bool:
        found = await world.ok("entitlements", "GET", f"/v1/cycles/{cycle['id']}")
        return found["status"] in ("ready", "approved")

    await eventually(ready, f"{policy} cycle ready")
    return str(cycle["id"])


# -- relief -----------------------------------------------------------------------------------------------


async def _relief(world: World) -> None:
    for code, kind in ((CHILDCARE_FUND, "budget_line"), (CARE_FUND, "care_fund")):
        body = {"code": code, "kind": kind, "name_zh": f"{code} 资金", "name_en": f"{code} fund", "region": INSIDE}
        await world.ok("relief", "POST", "/v1/funds", world.insider(sub="fund-maker"), json=body)
        world.secrets.add(code)
    await world.ok("relief", "POST", f"/v1/funds/{CARE_FUND}/allocations", world.insider(sub="fund-maker"),
                   json={"amount_fen": 5_000_000, "document_no": "章财社〔2026〕1号"})
    for name in ("application", "refused_application"):
        world.keep(name, (await _application(world))["id"])

    async def batch() -> dict[str, Any] | None:
        batches = await world.ok("relief", "GET", "/v1/batches")
        found = [b for b in batches if b["cycle_id"] == world["cycle"] and b["status"] != "collecting"]
        return found[0] if found else None

    world.keep("batch", (await eventually(batch, "payment batch of the childcare cycle"))["id"])
    run = await world.ok("relief", "POST", "/v1/reconciliations", json={"apply": False})
    world.keep("reconciliation", run["id"])


async def _application(world: World) -> Any:
    body = application_body(world, world["mother"], "serious_illness")
    return await world.ok("relief", "POST", "/v1/applications", world.insider(sub="applicant"), json=body)


def application_body(world: World, applicant: str, reason: str) -> dict[str, Any]:
    """An emergency-relief application for the world's household: it names no region (relief derives it
    from the household, asking the registry)."""
    return {"household_id": world["household"], "applicant_person_id": applicant, "reason_code": reason,
            "amount_fen": 200_000, "fund_code": CARE_FUND, "description": "孩子住院"}


# -- notifications ----------------------------------------------------------------------------------------


async def _notifications(world: World) -> None:
    body = {"url": f"{world.platform.receiver}/hooks/matrix-{INSIDE}", "region_prefix": INSIDE,
            "event_types": ["relief.>", "registry.>", "entitlements.>"], "description": "章贡区 matrix"}
    subscription = await world.ok("notifications", "POST", "/v1/webhooks/subscriptions", json=body)
    world.keep("subscription", subscription["id"])
    world.secrets.add(body["url"])
