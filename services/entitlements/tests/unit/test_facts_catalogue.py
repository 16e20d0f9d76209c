"""The facts catalogue: documented data, and the date rules both evaluation paths follow."""

from datetime import date

import pytest

from entitlements.domain.evaluation import evaluate
from entitlements.domain.facts_catalogue import (
    CATALOGUE,
    FACTS,
    FactsRow,
    age_on,
    alive_on,
    catalogue_json,
    fact_values,
    months_under_3_in_year,
)
from entitlements.domain.policy import Benefit, BenefitKind, Criterion, Policy, Subject, Text, check_policy
from entitlements.domain.sql_compiler import FACT_SQL


def test_every_fact_is_documented() -> None:
    assert len(FACTS) == len(CATALOGUE)
    served = catalogue_json()
    for fact in served:
        assert fact["name"].split(".")[0] in ("person", "household")
        assert fact["type"] in ("int", "bool", "string", "timestamp", "list(string)")
        assert fact["meaning"]["zh"] and fact["meaning"]["en"] and fact["label"]["zh"] and fact["label"]["en"]
        assert "example" in fact and fact["source"]
    assert {f["name"] for f in served} == set(FACT_SQL)
    assert FACTS["person.age"].as_json()["unit"] == {"zh": "岁", "en": "years"}


def test_fact_values_cover_the_catalogue() -> None:
    row = FactsRow(person_id="p", household_id="h", division_code="360702001001", sex="female",
                   birth_date=date(1970, 1, 1), relation="head")
    assert set(fact_values(row, date(2025, 1, 1))) == set(FACTS)


@pytest.mark.parametrize(("birth", "as_of", "age"), [
    (date(1966, 3, 15), date(2026, 3, 14), 59),
    (date(1966, 3, 15), date(2026, 3, 15), 60),
    (date(1964, 2, 29), date(2024, 2, 28), 59),
    (date(1964, 2, 29), date(2024, 2, 29), 60),
    (date(1964, 2, 29), date(2025, 2, 28), 60),  # no 29 February: a year older on 1 March
    (date(1964, 2, 29), date(2025, 3, 1), 61),
    (date(2025, 1, 2), date(2025, 1, 1), None),  # not born yet
])
def test_age(birth: date, as_of: date, age: int | None) -> None:
    assert age_on(birth, as_of) == age


def test_alive() -> None:
    assert alive_on(None, date(2026, 1, 1))
    assert alive_on(date(2026, 1, 2), date(2026, 1, 1))
    assert not alive_on(date(2026, 1, 1), date(2026, 1, 1))  # a death on the day has happened


@pytest.mark.parametrize(("birth", "year", "months"), [
    (date(2022, 10, 20), 2025, 9),  # January–September 2025
    (date(2022, 7, 15), 2025, 6),  # turns 3 in July
    (date(2022, 1, 15), 2025, 0),  # turns 3 in January: that month does not count
    (date(2023, 6, 5), 2025, 12),
    (date(2025, 3, 10), 2025, 10),  # born in March: March–December
    (date(2025, 3, 10), 2028, 2),
    (date(2019, 1, 1), 2025, 0),
])
def test_months_under_3(birth: date, year: int, months: int) -> None:
    assert months_under_3_in_year(birth, year) == months


def test_every_child_has_36_months_under_3() -> None:
    for birth in (date(2024, 1, 1), date(2024, 2, 29), date(2025, 12, 31)):
        assert sum(months_under_3_in_year(birth, year) for year in range(2020, 2035)) == 36


def _policy(*criteria: str, amount: str = "100") -> Policy:
    return Policy(code="t-policy", version=1, name=Text("测试", "test"), legal_basis="x", jurisdiction="",
                  effective_from=date(2020, 1, 1), subject=Subject.PERSON,
                  criteria=tuple(Criterion(c, Text(f"条件{i}", f"criterion {i}")) for i, c in enumerate(criteria)),
                  benefit=Benefit(BenefitKind.CASH_ONCE, amount, "FP"))


ROW = FactsRow(person_id="p", household_id="h", division_code="360702001001", sex="male",
               birth_date=date(1960, 1, 1), relation="head", is_parent=True, household_facts_as_of=date(2024, 1, 1))


def test_reading_a_null_fact_fails_the_criterion_and_says_so() -> None:
    decision = evaluate(check_policy(_policy("person.disability_grade <= 3")), ROW, date(2025, 1, 1))
    outcome = decision.criteria[0]
    assert not decision.eligible and not outcome.passed and outcome.error
    assert outcome.text_zh == "不符合：条件0（本人残疾等级：无记录；无法判断）"
    assert outcome.text_en == "Not met: criterion 0 (the person's disability grade: none on record; cannot be decided)"


@pytest.mark.parametrize(("amount", "error"), [
    ("-1", "negative"), ("person.disability_grade", "null"), ("100 / (person.age - 65)", "division"),
])
def test_an_amount_that_cannot_be_paid_makes_the_subject_ineligible(amount: str, error: str) -> None:
    decision = evaluate(check_policy(_policy("person.age >= 65", amount=amount)), ROW, date(2025, 1, 1))
    assert not decision.eligible and decision.amount is None and error in decision.amount_error
    assert decision.summary_zh.endswith("金额无法计算")
