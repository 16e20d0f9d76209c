"""Decision notices in a family's words: the policy's name from the event, the amount only for cash.

The events' data come from the real producer (entitlements' decision payload over its policy library), so
a name, kind or amount entitlements stops sending fails here; the end-to-end test
(tests/e2e/test_decision_sms.py) takes whole events from the running service.
"""

import uuid
from datetime import date
from typing import Any

from entitlements.adapters.policy_library import load_library
from entitlements.domain.evaluation import Decision
from entitlements.service.decisions import _event_data
from notifications.domain.templates import render
from notifications.domain.triggers import notices_for
from notifications.service.digests import fold_params
from notifications.service.templates import default_templates

LIBRARY = {checked.policy.code: checked for checked in load_library()}
HOUSEHOLD = uuid.UUID(int=1)


def produced(code: str, amount: int | None, effective: date = date(2026, 12, 1)) -> dict[str, Any]:
    """The data of entitlements' decision event granting `code` to a person (amount in the policy's unit)."""
    checked = LIBRARY[code]
    policy = checked.policy
    decision = Decision(policy_code=code, policy_version=policy.version, subject=policy.subject.value,
                        subject_id="p1", household_id=str(HOUSEHOLD), as_of=effective, eligible=True,
                        amount=amount, unit=policy.benefit.unit, criteria=(), amount_error=None,
                        summary_zh="", summary_en="")
    return _event_data(checked, "p1", HOUSEHOLD, decision, None, effective, "registry", effective)


BEREAVED = produced("special-assistance-bereaved", 17000)
CARD = produced("fee-waiver-benefit-card", 0)


def _granted(data: dict) -> dict[str, str]:
    [notice] = notices_for("entitlements.decision.granted", data, "2026-11-24")
    return notice.params


def _text(code: str, params: dict[str, str]) -> str:
    [template] = [t for t in default_templates() if t.code == code]
    return render(template, params | {"name": "罗丽华"})


def test_a_cash_benefit_is_named_from_the_event_with_its_monthly_amount() -> None:
    text = _text("decision_granted", _granted(BEREAVED))
    assert "计划生育家庭特别扶助（独生子女死亡），每月170.00元" in text
    assert "special-assistance" not in text


def test_a_fee_waiver_card_says_what_it_is_never_zero_yuan() -> None:
    text = _text("decision_granted", _granted(CARD))
    assert "计划生育家庭就医优惠（三免四减半）（凭证在公立医疗机构就医时减免相关费用）" in text
    assert "0.00" not in text and "元" not in text and "fee-waiver" not in text


def test_an_event_without_names_prints_no_code() -> None:
    params = _granted({k: v for k, v in BEREAVED.items() if k != "policy_name"})
    assert "special-assistance-bereaved" not in _text("decision_granted", params)


def test_a_revocation_names_the_benefit_and_why() -> None:
    [notice] = notices_for("entitlements.decision.revoked", BEREAVED | {
        "unmet": [{"zh": "罗丽华已去世", "en": "has died"}]}, "2026-11-24")
    assert notice.params["benefits"] == "计划生育家庭特别扶助（独生子女死亡）（罗丽华已去世）"


def test_decisions_fold_into_one_notice_with_every_benefit_once() -> None:
    first = _granted(BEREAVED) | {"events": "e1"}
    folded = fold_params(first, _granted(produced("fee-waiver-benefit-card", 0, date(2026, 11, 30))), "e2")
    assert folded["benefits"] == ("计划生育家庭特别扶助（独生子女死亡），每月170.00元；"
                                  "计划生育家庭就医优惠（三免四减半）（凭证在公立医疗机构就医时减免相关费用）")
    assert folded["events"] == "e1,e2" and folded["effective_date"] == "2026-11-30"
    assert fold_params(folded, _granted(CARD), "e3")["benefits"] == folded["benefits"]
