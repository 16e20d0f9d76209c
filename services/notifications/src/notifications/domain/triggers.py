"""Which template an event sends, to whom, with which values.

Recipient rule (the household's contact person):
- entitlement decisions about a person → that person; about a household → the household's head, as the
  event names it (`head_person_id`), else looked up in the registry at send time;
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

# Non-cash benefits: what the family has and where it is used (an SMS never prints "0.00元" or a code).
WHAT_IT_IS = {
    "fee_waiver": "凭证在公立医疗机构就医时减免相关费用",
    "priority_flag": "向民政、救助部门申请救助时优先受理",
    "insurance_enrolment": "已纳入年度投保名单",
    "in_kind_service": "服务由乡镇计生办安排",
    "exam_bonus_points": "中考时按规定加分",
}
PER_PERIOD = {"cash_monthly": "每月", "cash_yearly": "每年", "cash_once": "一次性"}
UNNAMED = "扶助待遇"  # an event that does not name its policy (relief's payments name only a code)
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
        person = data.get("subject_id") if data.get("subject") == "person" else data.get("head_person_id")
        return Addressee(person, household, region)
    if event_type.startswith("relief.payment."):
        return Addressee(data.get("payee_person_id"), household, region)
    return Addressee(data.get("applicant_person_id"), household, region)


def policy_name(data: Mapping[str, Any]) -> str:
    names = data.get("policy_name")
    return str(names.get("zh") or UNNAMED) if isinstance(names, Mapping) else UNNAMED


def benefit_line(event_type: str, data: Mapping[str, Any]) -> str:
    """One decision in a family's words: the benefit's name, then what it is worth or what it gives."""
    name = policy_name(data)
    if event_type.endswith(".revoked"):
        reason = _reason(data.get("unmet") or data.get("reason"))[:40]
        return f"{name}（{reason}）" if reason else name
    kind, amount = str(data.get("benefit_kind") or ""), data.get("amount")
    if kind in PER_PERIOD and isinstance(amount, int) and amount > 0:
        return f"{name}，{PER_PERIOD[kind]}{yuan(amount)}元"
    what = WHAT_IT_IS.get(kind)
    return f"{name}（{what}）" if what else name


def _params(event_type: str, data: Mapping[str, Any], occurred_on: str) -> dict[str, str]:
    amount = data.get("amount_fen", data.get("amount"))
    params = {
        "policy_name": policy_name(data),
        "benefits": benefit_line(event_type, data) if event_type.startswith("entitlements.decision.") else "",
        "amount_yuan": yuan(amount) if isinstance(amount, int) and amount > 0 else "",
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
