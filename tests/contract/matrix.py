"""The jurisdiction table: for every operation of the four OpenAPI documents (by operationId), how to fill
it from the world, and whether it is region-bound. An operation the documents have and this table lacks
makes the matrix test fail, so a new endpoint cannot slip through unjudged.

`Bound(fill)`: a caller of the neighbouring county with the same roles gets 404/403 (or, for a read or a
call acting on its own region, a 2xx carrying nothing of the world), and the insider then succeeds.
`Own(fill)`: an operation that acts on the caller's own region (it names no record of another's): the
outsider may succeed, but its answer carries nothing of the world. `Free(reason)`: not region-bound.
"""

import inspect
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from world import CARE_FUND, CHILDCARE, CHILDCARE_FUND, INSIDE, VILLAGE, World, application_body, eventually

SERVICES = ("registry", "entitlements", "relief", "notifications")
ROOT = Path(__file__).parents[2]
TODAY = date.today().isoformat()


@dataclass(frozen=True)
class Fill:
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    files: dict[str, Any] | None = None


Filler = Callable[[World], Fill | Awaitable[Fill]]


@dataclass(frozen=True)
class Bound:
    fill: Filler
    sub: str | None = None  # the insider's subject where maker and checker must differ
    roles: list[str] | None = None
    own_scope: bool = False  # the outsider may succeed on its own region, seeing nothing of ours
    outsider: Filler | None = None  # what the outsider sends, where it differs (e.g. its own region code)
    names_division: bool = False  # the body names a division (public), not a record: a 422 on it is fine
    like_unknown: Filler | None = None  # the same request naming no record: the outsider's answer must match it
    after_outsider: Callable[[World, Any], Awaitable[str | None]] | None = None  # a problem, or None

    async def filled(self, world: World, *, outsider: bool = False, unknown: bool = False) -> Fill:
        made = (self.like_unknown if unknown else self.outsider if outsider and self.outsider else self.fill)(world)
        return await made if inspect.isawaitable(made) else made


def Own(fill: Filler, **kwargs: Any) -> Bound:  # noqa: N802 - reads as a kind of row
    return Bound(fill, own_scope=True, **kwargs)


@dataclass(frozen=True)
class Free:
    reason: str


@dataclass(frozen=True)
class Operation:
    service: str
    operation_id: str
    method: str
    path: str

    @property
    def label(self) -> str:
        return f"{self.service}:{self.operation_id}"


def documented_operations() -> list[Operation]:
    found = []
    for service in SERVICES:
        document = json.loads((ROOT / "services" / service / "openapi.json").read_text())
        for path, item in document["paths"].items():
            for method, spec in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    found.append(Operation(service, spec["operationId"], method.upper(), path))
    return found


def _fill(**kwargs: Any) -> Filler:
    """A Fill whose values may be world keys written as `{key}`."""

    def make(world: World) -> Fill:
        def value(v: Any) -> Any:
            if isinstance(v, str) and v.startswith("{") and v.endswith("}") and v[1:-1] in world.ids:
                return world[v[1:-1]]
            if isinstance(v, dict):
                return {k: value(x) for k, x in v.items()}
            if isinstance(v, list):
                return [value(x) for x in v]
            return v

        return Fill(**{k: value(v) for k, v in kwargs.items()})

    return make


def _fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


HEALTH = Free("liveness/readiness of the process; no data")
WHOAMI = Free("echoes the caller's own token")
OPS = Free("ops' platform-wide event queue (ops role); holds no region's records by design")
EVERY_SERVICE: dict[str, "Bound | Free"] = {  # the kit's operations, in each of the four services
    "health-alive": HEALTH,
    "health-ready": HEALTH,
    "auth-whoami": WHOAMI,
    "ops-list_dead_letters": OPS,
    "ops-discard_dead_letter": OPS,
    "ops-replay_dead_letter": OPS,
}


# -- registry ----------------------------------------------------------------------------------------------


async def _household_etag(world: World) -> Fill:
    response = await world.call("registry", "GET", f"/v1/households/{world['household']}", world.insider())
    return Fill(path={"household_id": world["household"]}, json={"address": "沙石镇示例一村9号"},
                headers={"If-Match": response.headers.get("etag", "*")})


async def _import_wrote_nothing(world: World, answer: Any) -> str | None:
    """The outsider's file naming a village of ours may be accepted as a job, but must write no household."""
    job_id = answer.json()["id"]

    async def finished() -> Any:
        job = await world.ok("registry", "GET", f"/v1/imports/{job_id}", world.outsider())
        return job if job.get("status") not in ("queued", "running", "pending") else None

    job = await eventually(finished, "outsider's import to finish")
    written = {k: v for k, v in job.items() if k.endswith(("_created", "_written", "_imported")) and v}
    return f"the outsider's import wrote rows in our village: {written}" if written else None


def _new_household(world: World) -> Fill:
    return Fill(json={"division_code": VILLAGE, "hukou_type": "rural", "address": "沙石镇示例一村10号"})


def _new_person(world: World) -> Fill:
    return Fill(json={"household_id": world["household"], "name": "钟小满", "relation": "child",
                      "birth_date": "2026-01-05", "sex": "female", "mother_id": world["mother"],
                      "father_id": world["father"]})


def _new_partner(world: World) -> Fill:
    return Fill(json={"agency": _fresh("civil"), "name": "章贡区民政局", "region": INSIDE})


REGISTRY: dict[str, Bound | Free] = {
    **EVERY_SERVICE,
    "partner intake-receive_partner_event": Free(
        "signed by a partner's secret, no token; its remit is the partner's registered region (the world "
        "checks that the neighbour's report about our father was parked, not applied)"),
    "persons-identifiers_batch": Free("service role only (another service), which has no region"),
    "households-get_household": Bound(_fill(path={"household_id": "{household}"})),
    "households-get_household_facts": Bound(_fill(path={"household_id": "{household}"})),
    "households-list_household_events": Bound(_fill(path={"household_id": "{household}"})),
    "households-create_household_event": Bound(_fill(
        path={"household_id": "{household}"},
        json={"kind": "residence_changed", "effective_date": TODAY, "residence_division_code": "360702101201"})),
    "households-update_household": Bound(_household_etag),
    "households-create_household": Bound(_new_household, names_division=True),
    "outreach-list_visits": Bound(_fill(path={"household_id": "{household}"})),
    "outreach-create_visit": Bound(_fill(path={"household_id": "{household}"},
                                         json={"visited_on": TODAY, "kind": "home_service", "notes": "送药"})),
    "outreach-get_villages": Own(_fill(path={"sub": "village-caseworker"})),  # a subject, not a record of ours
    "outreach-put_villages": Bound(_fill(path={"sub": "village-caseworker"}, json={"villages": [VILLAGE]}),
                                   names_division=True),
    "outreach-get_worklist": Bound(_fill(), sub="village-caseworker"),
    "persons-get_person": Bound(_fill(path={"person_id": "{father}"})),
    "persons-list_person_events": Bound(_fill(path={"person_id": "{father}"})),
    "persons-create_person_event": Bound(_fill(path={"person_id": "{spare}"},
                                               json={"kind": "disability_assessed", "effective_date": TODAY,
                                                     "grade": 2})),
    "persons-create_person": Bound(_new_person),
    "search-search": Bound(_fill(query={"name": "钟立新"})),
    "audit-list_audit": Bound(_fill(query={"person_id": "{father}"})),
    "statistics-get_stats": Bound(_fill(query={"region": INSIDE})),
    "imports-create_import": Own(lambda world: Fill(files={"file": (
        "m.csv", f"household_ref,division_code,hukou_type,name,relation,sex,birth_date\n"
        f"M-{uuid.uuid4().hex[:6]},{VILLAGE},rural,廖夏,head,female,1970-02-03\n".encode(), "text/csv")}),
        after_outsider=lambda world, answer: _import_wrote_nothing(world, answer)),
    "imports-get_import": Bound(_fill(path={"import_id": "{import}"})),
    "imports-list_import_errors": Bound(_fill(path={"import_id": "{import}"})),
    "partners-get_partners": Bound(_fill()),
    "partners-create_partner": Bound(_new_partner, names_division=True),
    "partners-rotate_partner_secret": Bound(_fill(path={"agency": "health-360702"})),
    "review queue-list_review_items": Bound(_fill()),
    "review queue-get_review_item": Bound(_fill(path={"item_id": "{review_item}"})),
    "review queue-resolve_review_item": Bound(_fill(
        path={"item_id": "{review_item}"}, json={"resolution": "dismissed", "reason": "外县报告，已核实本人健在"})),
    "duplicates-list_duplicates": Bound(_fill()),
    "duplicates-merge": Bound(_fill(json={"keep": "{father}", "merge": "{twin}", "reason": "同一人重复登记"})),
}


# -- entitlements ------------------------------------------------------------------------------------------


async def _draft(world: World) -> Fill:
    library = await world.ok("entitlements", "GET", f"/v1/policies/{CHILDCARE}/versions/1")
    document = json.loads((ROOT / "services/entitlements/openapi.json").read_text())
    body = _only_declared(library["policy"], {"$ref": "#/components/schemas/PolicyCreate"}, document)
    code = _fresh("matrix-local")
    world.ids["draft_policy"] = code
    name = {"zh": "本县育儿加发", "en": "Local top-up"}
    return Fill(json={**body, "code": code, "jurisdiction": INSIDE, "name": name})


async def _simulation(world: World) -> Fill:
    draft = (await _draft(world)).json
    return Fill(json={"as_of": TODAY, "policy": draft})


def _only_declared(value: Any, schema: dict[str, Any], document: dict[str, Any]) -> Any:
    """`value` (a policy as the library shows it) cut down to what `schema` declares (what a draft takes)."""
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    for option in schema.get("anyOf", []):
        if option.get("type") != "null" and value is not None:
            return _only_declared(value, option, document)
    if isinstance(value, dict) and "properties" in schema:
        return {k: _only_declared(v, schema["properties"][k], document)
                for k, v in value.items() if k in schema["properties"]}
    if isinstance(value, list) and "items" in schema:
        return [_only_declared(v, schema["items"], document) for v in value]
    return value


def _drafted(world: World) -> Fill:
    return Fill(path={"code": world.ids.get("draft_policy", "missing"), "version": "1"})


ENTITLEMENTS: dict[str, Bound | Free] = {
    **EVERY_SERVICE,
    "facts-list_facts": Free("the catalogue of fact names a policy may use; no person's facts"),
    "policies-list_policies": Free("the policy library is published law, the same text for every county"),
    "policies-get_policy_version": Free("the policy library is published law, the same text for every county"),
    "entitlements-person_entitlements": Bound(_fill(path={"person_id": "{child}"})),
    "entitlements-check_eligibility": Bound(_fill(), roles=["partner"]),  # special: see the test
    "cycles-get_cycle": Bound(_fill(path={"cycle_id": "{cycle}"})),
    "cycles-cycle_lines": Bound(_fill(path={"cycle_id": "{cycle}"})),
    "cycles-cycle_summary": Bound(_fill(path={"cycle_id": "{cycle}"})),
    "cycles-approve_cycle": Bound(_fill(path={"cycle_id": "{open_cycle}"}), sub="cycle-approver"),
    "cycles-create_cycle": Own(_fill(json={"policy": "rural-reward-assistance", "period": str(date.today().year)}),
                               sub="cycle-maker-2"),
    "simulations-create_simulation": Own(_simulation),
    "appeals-get_appeal": Bound(_fill(path={"appeal_id": "{appeal}"})),
    "appeals-decide_appeal": Bound(_fill(path={"appeal_id": "{appeal}"},
                                         json={"outcome": "refuse", "reason": "不符合条件"}), sub="appeal-decider"),
    "appeals-file_appeal": Bound(_fill(json={"person_id": "{father}", "policy": CHILDCARE, "reason": "复核"})),
    "policies-draft_policy": Bound(_draft, sub="policy-drafter"),
    "policies-activate_policy_version": Bound(_drafted, sub="policy-approver"),
    "policies-retire_policy_version": Bound(_drafted, sub="policy-approver"),
}


# -- relief ------------------------------------------------------------------------------------------------


async def _care_transfer(world: World) -> Fill:
    statement = await world.ok("relief", "GET", f"/v1/funds/{CARE_FUND}/statement", params=STATEMENT_DAYS)
    lines = statement.get("lines", statement) if isinstance(statement, dict) else statement
    return Fill(path={"transfer_id": str(lines[0]["transfer_id"])})


async def _correction(world: World, fund_account: str) -> Fill:
    """A 1-fen correction from a fund to an income account of the world's region."""
    accounts = await world.ok("relief", "GET", "/v1/ledger/accounts")
    income = next(a["code"] for a in accounts if a["code"].startswith("income:"))
    return Fill(json={"id": str(uuid.uuid4()), "debit_account": fund_account, "credit_account": income,
                      "amount_fen": 1, "code": "correction", "kind": "posted"})


def _application(world: World) -> Fill:
    return Fill(json=application_body(world, world["father"], "accident"))


def _step(name: str) -> Filler:
    return _fill(path={"application_id": "{" + name + "}"}, json={"comment": "核实"})


async def _result_file(world: World) -> Fill:
    """The bank's result file naming the world's payments: a caller of another region matches none of them."""
    payments = (await world.ok("relief", "GET", f"/v1/batches/{world['batch']}/payments"))[:3]
    lines = [f"R,{p['end_to_end_id']},BANK{n},{p['amount_fen']},succeeded,," for n, p in enumerate(payments)]
    total = sum(p["amount_fen"] for p in payments)
    text = "\n".join([f"H,GUANHUAI-RES,1,matrix,{len(lines)},{total}", *lines, f"T,{len(lines)},{total}"]) + "\n"
    return Fill(content=text.encode(), headers={"Content-Type": "text/csv"}, query={"apply": "false"})


STATEMENT_DAYS = {"from": (date.today() - timedelta(days=7)).isoformat(),
                  "to": (date.today() + timedelta(days=1)).isoformat()}

RELIEF: dict[str, Bound | Free] = {
    **EVERY_SERVICE,
    "provider-callbacks-simulator_callback": Free("the payment provider's HMAC-signed callback, no token"),
    "ledger-ledger_invariant": Own(_fill()),
    "funds-list_funds": Bound(_fill()),
    "funds-get_fund": Bound(_fill(path={"code": CARE_FUND})),
    "funds-get_statement": Bound(_fill(path={"code": CARE_FUND}, query=STATEMENT_DAYS)),
    "funds-list_donations": Bound(_fill(path={"code": CARE_FUND})),
    "funds-create_donation": Bound(_fill(path={"code": CARE_FUND}, json={
        "donor_kind": "person", "donor_name": "爱心人士", "amount_fen": 10_000, "memo": "matrix"})),
    "funds-create_allocation": Bound(_fill(path={"code": CHILDCARE_FUND}, json={
        "amount_fen": 10_000_000, "document_no": "章财社〔2026〕2号"}), sub="fund-maker"),
    "funds-create_fund": Bound(lambda world: Fill(json={
        "code": _fresh("local"), "kind": "care_fund", "name_zh": "本县基金", "name_en": "Local", "region": INSIDE}),
        names_division=True),
    "reports-fund_balances": Bound(_fill()),
    "reports-disbursed": Bound(_fill(query={"group_by": ["region", "policy"]})),
    "ledger-list_accounts": Bound(_fill()),
    "ledger-account_transfers": Bound(_fill(path={"code": f"fund:{CARE_FUND}"})),
    "ledger-get_ledger_transfer": Bound(_care_transfer),
    "ledger-create_ledger_transfer": Bound(lambda world: _correction(world, f"fund:{CARE_FUND}"),
                                           like_unknown=lambda world: _correction(world, "fund:no-such-fund")),
    "applications-list_applications": Bound(_fill()),
    "applications-get_application": Bound(_fill(path={"application_id": "{application}"})),
    "applications-create_application": Bound(_application),
    "applications-review_application": Bound(_step("application"), sub="relief-reviewer"),
    "applications-approve_application": Bound(_step("application"), sub="relief-approver"),
    "applications-pay_application": Bound(_step("application"), sub="relief-payer"),
    "applications-refuse_application": Bound(_step("refused_application"), sub="relief-reviewer"),
    "batches-list_batches": Bound(_fill()),
    "batches-get_batch": Bound(_fill(path={"batch_id": "{batch}"})),
    "batches-reserve": Bound(_fill(path={"batch_id": "{batch}"}), sub="batch-reserver"),
    "batches-approve": Bound(_fill(path={"batch_id": "{batch}"}), sub="batch-approver"),
    "batches-list_payments": Bound(_fill(path={"batch_id": "{batch}"})),
    "batches-disclosure": Bound(_fill(path={"batch_id": "{batch}"})),
    "reconciliations-reconcile_statement": Own(_fill(json={"apply": False})),
    "reconciliations-reconcile_result_file": Own(_result_file),
    "reconciliations-get_reconciliation": Bound(_fill(path={"run_id": "{reconciliation}"})),
}


# -- notifications -----------------------------------------------------------------------------------------


async def _first(world: World, path: str, key: str, **params: Any) -> str:
    found = await world.ok("notifications", "GET", path, params=params or None)
    items = found["items"] if isinstance(found, dict) else found
    assert items, f"the world has no {path}"
    return str(items[0][key])


async def _message(world: World) -> Fill:
    return Fill(path={"message_id": await _first(world, "/v1/messages", "id", person_id=world["mother"])})


async def _delivery(world: World) -> Fill:
    found = await _first(world, "/v1/webhooks/deliveries", "id", subscription_id=world["subscription"])
    return Fill(path={"delivery_id": found})


TEMPLATES = Free("message wording shared by every county (admin); holds no family's data")
PROVIDER = Free("the SMS provider's signed callback, no token")

NOTIFICATIONS: dict[str, Bound | Free] = {
    **EVERY_SERVICE,
    "event-types-list_event_types": Free("the catalogue of event types and their schemas"),
    "event-types-get_event_type": Free("the catalogue of event types and their schemas"),
    "providers-post_aliyun_inbound": PROVIDER,
    "providers-post_aliyun_receipts": PROVIDER,
    "providers-post_tencent_inbound": PROVIDER,
    "providers-post_tencent_receipts": PROVIDER,
    "templates-get_templates": TEMPLATES,
    "templates-list_placeholders": TEMPLATES,
    "templates-get_template": TEMPLATES,
    "templates-put_template": TEMPLATES,
    "templates-preview_template": TEMPLATES,
    "messages-list_messages": Bound(_fill()),
    "messages-get_message": Bound(_message),
    "reports-get_satisfaction": Bound(_fill(query={"region": INSIDE})),
    "webhooks-list_webhook_subscriptions": Bound(_fill()),
    "webhooks-create_webhook_subscription": Bound(lambda world: Fill(json={
        "url": f"{world.platform.receiver}/hooks/{_fresh('matrix')}", "region_prefix": INSIDE,
        "event_types": ["relief.payment.*"], "description": "matrix"}), names_division=True),
    "webhooks-list_webhook_deliveries": Bound(_fill()),
    "webhooks-get_webhook_delivery": Bound(_delivery),
    "webhooks-replay_webhook_delivery": Bound(_delivery),
    "webhooks-list_webhook_dead_letters": Bound(_fill()),
    "webhooks-rotate_webhook_secret": Bound(_fill(path={"subscription_id": "{subscription}"},
                                                  json={"overlap_hours": 1})),
    "webhooks-enable_webhook_subscription": Bound(_fill(path={"subscription_id": "{subscription}"})),
    "webhooks-replay_webhook_range": Bound(lambda world: Fill(
        path={"subscription_id": world["subscription"]},
        json={"since": (date.today() - timedelta(days=1)).isoformat() + "T00:00:00Z",
              "until": (date.today() + timedelta(days=1)).isoformat() + "T00:00:00Z"})),
}

TABLE: dict[str, dict[str, Bound | Free]] = {
    "registry": REGISTRY, "entitlements": ENTITLEMENTS, "relief": RELIEF, "notifications": NOTIFICATIONS,
}

# Operations that change what later rows read run in this order (by label); the rest keep table order.
ORDER = [
    "relief:funds-create_allocation", "relief:batches-reserve", "relief:batches-approve",
    "relief:applications-review_application", "relief:applications-approve_application",
    "relief:applications-pay_application",
    "entitlements:policies-draft_policy", "entitlements:policies-activate_policy_version",
    "entitlements:policies-retire_policy_version",
    "registry:duplicates-merge",
]


def ordered(operations: list[Operation]) -> list[Operation]:
    position = {label: n for n, label in enumerate(ORDER)}
    return sorted(operations, key=lambda op: (op.label in position, position.get(op.label, 0)))


def entry(operation: Operation) -> Bound | Free | None:
    return TABLE.get(operation.service, {}).get(operation.operation_id)
