"""Policies as data: validation of every field, the lifecycle (maker ≠ checker, immutability), and the
plain-data shape the YAML library and the API use."""

import dataclasses
from datetime import date

import pytest

from entitlements.adapters.policy_library import LIBRARY_DIR, LibraryError, load_library, load_policy_file
from entitlements.domain.errors import PolicyError
from entitlements.domain.policy import (
    Benefit,
    BenefitKind,
    Criterion,
    Policy,
    Status,
    Subject,
    Text,
    activate,
    amend,
    check_policy,
    overlaps,
    policy_from_dict,
    policy_to_dict,
    retire,
)

BASE = Policy(code="test-policy", version=1, name=Text("测试", "test"), legal_basis="测试〔2025〕1号",
              jurisdiction="3607",
              effective_from=date(2025, 1, 1), subject=Subject.PERSON,
              criteria=(Criterion("person.age >= 60", Text("年满60周岁", "60 or over")),),
              benefit=Benefit(BenefitKind.CASH_MONTHLY, "17000", "FP-SPECIAL"), drafted_by="alice")


def field_of(policy: Policy) -> str:
    with pytest.raises(PolicyError) as caught:
        check_policy(policy)
    return caught.value.field


def test_a_valid_policy() -> None:
    checked = check_policy(BASE)
    assert checked.batch_ok and len(checked.criteria) == 1 and checked.amount.result.base == "int"
    assert BASE.benefit.unit == "fen"
    assert BASE.in_force_on(date(2025, 1, 1)) and not BASE.in_force_on(date(2024, 12, 31))
    assert BASE.covers("360702001001") and not BASE.covers("360802001001")


@pytest.mark.parametrize(("change", "field"), [
    ({"code": "Bad Code"}, "code"),
    ({"version": 0}, "version"),
    ({"name": Text("", "x")}, "name.zh"),
    ({"legal_basis": " "}, "legal_basis"),
    ({"jurisdiction": "360"}, "jurisdiction"),
    ({"jurisdiction": "36a7"}, "jurisdiction"),
    ({"effective_to": date(2024, 1, 1)}, "effective_to"),
    ({"criteria": ()}, "criteria"),
    ({"criteria": (Criterion("true", Text("", "x")),)}, "criteria[0].label.zh"),
    ({"benefit": Benefit(BenefitKind.CASH_YEARLY, "100", None)}, "benefit.fund"),
    ({"benefit": Benefit(BenefitKind.CASH_YEARLY, "100", "lower")}, "benefit.fund"),
    ({"benefit": Benefit(BenefitKind.CASH_YEARLY, "100 +", "FP")}, "benefit.amount"),
    ({"subject": Subject.HOUSEHOLD}, "criteria[0].expr"),
])
def test_refusals_name_the_field(change: dict, field: str) -> None:
    assert field_of(dataclasses.replace(BASE, **change)) == field


def test_non_cash_kinds_need_no_fund() -> None:
    flag = dataclasses.replace(BASE, benefit=Benefit(BenefitKind.PRIORITY_FLAG))
    assert check_policy(flag).policy.benefit.unit == "none"
    assert BenefitKind.EXAM_BONUS_POINTS.unit == "points"


def test_maker_is_not_checker() -> None:
    with pytest.raises(PolicyError) as caught:
        activate(BASE, "alice")
    assert caught.value.field == "approved_by"
    active = activate(BASE, "bob")
    assert active.status is Status.ACTIVE and active.approved_by == "bob"
    with pytest.raises(PolicyError):
        activate(active, "carol")
    assert retire(active).status is Status.RETIRED


def test_active_versions_are_immutable() -> None:
    assert amend(BASE, legal_basis="新文件").legal_basis == "新文件"
    active = activate(BASE, "bob")
    with pytest.raises(PolicyError) as caught:
        amend(active, legal_basis="x")
    assert caught.value.message_zh.startswith("已启用")
    with pytest.raises(PolicyError):
        amend(BASE, status=Status.ACTIVE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        active.legal_basis = "x"  # type: ignore[misc]


def test_overlapping_versions() -> None:
    v2 = dataclasses.replace(BASE, version=2, effective_from=date(2026, 1, 1))
    assert overlaps(BASE, v2)
    assert not overlaps(dataclasses.replace(BASE, effective_to=date(2025, 12, 31)), v2)
    assert not overlaps(BASE, dataclasses.replace(v2, jurisdiction="3608"))


def test_plain_data_round_trip() -> None:
    for checked in load_library():
        data = policy_to_dict(checked.policy)
        assert policy_from_dict(data) == checked.policy


@pytest.mark.parametrize(("data", "field"), [
    ({"bogus": 1}, "bogus"),
    ({"benefit": {"kind": "cash"}}, "benefit.kind"),
    ({"subject": "family"}, "subject"),
    ({"effective_from": "2025-13-01"}, "effective_from"),
    ({"criteria": [{"label": {"zh": "x", "en": "x"}}]}, "criteria[0].expr"),
    ({"criteria": [{"expr": "true", "label": {"zh": "x"}}]}, "criteria[0].label"),
])
def test_malformed_plain_data(data: dict, field: str) -> None:
    good = policy_to_dict(BASE)
    good.pop("benefit")
    base = {**good, "benefit": {"kind": "cash_monthly", "amount": "100", "fund": "FP"}}
    with pytest.raises(PolicyError) as caught:
        policy_from_dict({**base, **data})
    assert caught.value.field == field


def test_library_file_errors_name_the_file(tmp_path) -> None:  # noqa: ANN001
    text = (LIBRARY_DIR / "relief-priority.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("household.bereaved ||", "household.bereavd ||"), encoding="utf-8")
    with pytest.raises(LibraryError) as caught:
        load_policy_file(bad)
    assert caught.value.file == "bad.yaml"
    assert caught.value.error.field == "criteria[0].expr"
    assert caught.value.error.position is not None and caught.value.error.position.column == 11


def test_library_refuses_overlapping_versions(tmp_path) -> None:  # noqa: ANN001
    text = (LIBRARY_DIR / "relief-priority.yaml").read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(text.replace("version: 1", "version: 2"), encoding="utf-8")
    with pytest.raises(LibraryError):
        load_library(tmp_path)


def test_every_library_policy_carries_its_sources_and_baseline_note() -> None:
    import yaml

    for path in sorted(LIBRARY_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["sources"] and data["legal_basis"], path.name
        assert data["notes"]["zh"] and data["notes"]["en"], path.name
