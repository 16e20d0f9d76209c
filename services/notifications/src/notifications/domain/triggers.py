"""Which template an event sends, to whom, with which values.

Recipient rule (the household's contact person):
- entitlement decisions about a person → that person; about a household → the household's head,
  looked up in the registry at send time (the decision event names only the household);
- payments → the payee (`payee_person_id`);
- relief applications → the applicant (`applicant_person_id`).
`relief.application.paid` also sends the satisfaction survey (a marketing text).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from notifications.domain.templates import yuan

TEMPLATE_BY_EVENT: dict[str, tuple[str, ...]] = {
    "entitlements.decision.granted": ("decision_granted",),
    "entitlements.decision.changed": ("decision_changed",),
    "entitlements.decision.revoked": ("decision_revoked",),
    "relief.payment.succeeded": ("payment_succeeded",),
    "relief.payment.failed": ("payment_failed",),
    "relief.payment.returned": ("payment_returned",),
    "relief.application.submitted": ("application_submitted",),
    "relief.application.reviewed": ("application_reviewed",),
    "relief.application.approved": ("application_approved",),
    "relief.application.refused": ("application_refused",),
    "relief.application.paid": ("application_paid", "satisfaction_survey"),
}

POLICY_NAMES = {
    "rural_reward": "农村部分计划生育家庭奖励扶助",
    "special_assistance_death": "计划生育家庭特别扶助",
    "special_assistance_disability": "计划生育家庭特别扶助",
    "childcare_subsidy": "育儿补贴",
    "only_child_parent_reward": "独生子女父母奖励费",
}
HOTLINE = "12320"  # the national health hotline; a county template may print its own number
STEPS = {"submitted": "已受理", "reviewed": "已审核", "approved": "已批准", "refused": "未获批准", "paid": "已发放"}


@dataclass(frozen=True)
class Addressee:
    person_id: str | None  # None: the household's head, resolved at send time
    household_id: str | None
    region_code: str | None


@dataclass(frozen=True)
class Notice:
    template_code: str
    addressee: Addressee
    params: dict[str, str]


def _reason(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("zh") or value.get("en") or "")
    if isinstance(value, list) and value:
        return _reason(value[0])
    return str(value or "")


def _addressee(event_type: str, data: Mapping[str, Any]) -> Addressee:
    region = data.get("region_code")
    household = data.get("household_id")
    if event_type.startswith("entitlements.decision."):
        person = data.get("subject_id") if data.get("subject") == "person" else None
        return Addressee(person, household, region)
    if event_type.startswith("relief.payment."):
        return Addressee(data.get("payee_person_id"), household, region)
    return Addressee(data.get("applicant_person_id"), household, region)


def _params(event_type: str, data: Mapping[str, Any], occurred_on: str) -> dict[str, str]:
    policy = str(data.get("policy") or data.get("policy_code") or "")
    amount = data.get("amount_fen", data.get("amount"))
    params = {
        "policy_name": POLICY_NAMES.get(policy, policy or "救助"),
        "amount_yuan": yuan(int(amount)) if isinstance(amount, int) else "",
        "period": str(data.get("period") or ""),
        "effective_date": str(data.get("effective_date") or occurred_on),
        "reason": _reason(data.get("reason") or data.get("unmet") or data.get("comment"))[:40],
        "step": STEPS.get(str(data.get("step") or event_type.rsplit(".", 1)[-1]), ""),
        "occurred_on": str(data.get("occurred_at") or occurred_on)[:10],
        "hotline": HOTLINE,
    }
    return params


def notices_for(event_type: str, data: Mapping[str, Any], occurred_on: str) -> list[Notice]:
    codes = TEMPLATE_BY_EVENT.get(event_type, ())
    if not codes:
        return []
    addressee = _addressee(event_type, data)
    if addressee.person_id is None and addressee.household_id is None:
        return []
    params = _params(event_type, data, occurred_on)
    return [Notice(code, addressee, params) for code in codes]
