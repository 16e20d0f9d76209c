import random

import pytest

from notifications.domain.replies import FreeText, OptOut, SurveyScore, TownshipSatisfaction, classify
from notifications.domain.triggers import notices_for
from notifications.domain.webhooks import (
    SCHEDULE_SECONDS,
    UnsafeUrl,
    check_address,
    next_attempt_delay,
    parse_target,
    region_matches,
    type_matches,
)


@pytest.mark.parametrize("text", ["T", "t", "TD", " td ", "退订", "Ｔ", "退订。"])
def test_opt_out_words(text: str) -> None:
    assert classify(text) == OptOut()


@pytest.mark.parametrize(("text", "score"), [("1", 1), ("5", 5), ("４", 4)])
def test_survey_digits(text: str, score: int) -> None:
    assert classify(text) == SurveyScore(score)


@pytest.mark.parametrize("text", ["6", "0", "12", "谢谢", "TT"])
def test_other_replies_are_free_text(text: str) -> None:
    assert isinstance(classify(text), FreeText)


def test_township_satisfaction_target() -> None:
    assert TownshipSatisfaction("360702001", 10, 9).meets_target
    assert not TownshipSatisfaction("360702001", 10, 8).meets_target
    assert not TownshipSatisfaction("360702001", 0, 0).meets_target


def test_schedule_follows_standard_webhooks_with_jitter() -> None:
    rng = random.Random(1)
    delays = [next_attempt_delay(a, rng=rng) for a in range(len(SCHEDULE_SECONDS))]
    for delay, base in zip(delays, SCHEDULE_SECONDS, strict=True):
        assert base * 0.8 <= delay <= base * 1.2
    assert next_attempt_delay(len(SCHEDULE_SECONDS)) is None
    assert next_attempt_delay(2, scale=0.001, rng=rng) < 1


def test_region_and_type_filters() -> None:
    assert region_matches("", None)
    assert region_matches("360702", "360702001001")
    assert not region_matches("360703", "360702001001")
    assert not region_matches("360702", None)
    assert type_matches(["relief.payment.*"], "relief.payment.failed")
    assert not type_matches(["relief.payment.*"], "relief.payment.x.y")
    assert type_matches(["relief.>"], "relief.application.paid")
    assert not type_matches(["relief.payment.succeeded"], "relief.payment.failed")


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "http://user:pw@example.com/", "https:///nohost"]
)
def test_only_plain_http_urls(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        parse_target(url)


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.100.100.200",
        "::1",
        "fe80::1",
        "fc00::1",
        "0.0.0.0",
        "::ffff:127.0.0.1",
        "100.64.1.1",
    ],
)
def test_inward_addresses_are_refused(ip: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_address(ip)


def test_public_and_allow_listed_addresses_pass() -> None:
    check_address("93.184.216.34")
    check_address("127.0.0.1", allow=["127.0.0.1"])
    check_address("10.0.0.7", allow=["10.0.0.0/8"])


def test_decision_about_a_household_goes_to_its_head() -> None:
    data = {
        "policy": "relief-priority",
        "policy_name": {"zh": "计划生育特殊家庭优先救助", "en": "Relief priority for family-planning families"},
        "subject": "household",
        "subject_id": "h1",
        "household_id": "h1",
        "amount": None,
        "benefit_kind": "priority_flag",
        "effective_date": "2026-12-01",
        "reason": "ok",
    }
    [notice] = notices_for("entitlements.decision.granted", data, "2026-11-24")
    assert notice.template_code == "decision_granted"
    assert notice.addressee.person_id is None and notice.addressee.household_id == "h1"
    assert notice.params["policy_name"] == "计划生育特殊家庭优先救助"
    assert notice.params["benefits"] == "计划生育特殊家庭优先救助（向民政、救助部门申请救助时优先受理）"


def test_paid_application_also_sends_the_survey_to_the_applicant() -> None:
    data = {
        "application_id": "a",
        "household_id": "h",
        "applicant_person_id": "p",
        "region_code": "360702001001",
        "reason_code": "illness",
        "amount_fen": 100000,
        "step": "paid",
        "actor": "x",
        "occurred_at": "2026-11-24T10:00:00+08:00",
    }
    notices = notices_for("relief.application.paid", data, "2026-11-24")
    assert [n.template_code for n in notices] == ["application_paid", "satisfaction_survey"]
    assert all(n.addressee.person_id == "p" for n in notices)
    assert notices_for("registry.person.died", {}, "2026-11-24") == []
