"""Policy expressions: syntax, names and types are checked with the position of the fault; the batch
subset is enforced at creation for batch policies."""

from datetime import date

import pytest

from entitlements.domain.errors import ExpressionError, PolicyError, Position
from entitlements.domain.expressions import analyse
from entitlements.domain.policy import Benefit, BenefitKind, Criterion, Policy, Subject, Text, check_policy

BOTH = ("person", "household")


def refused(source: str, scopes: tuple[str, ...] = BOTH, expect: str = "bool") -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        analyse(source, scopes, expect)
    return caught.value


def policy(*exprs: str, amount: str = "100", subject: Subject = Subject.PERSON, batch: bool = True) -> Policy:
    return Policy(code="test-policy", version=1, name=Text("测试", "test"), legal_basis="测试〔2025〕1号",
                  jurisdiction="36", effective_from=date(2025, 1, 1), subject=subject,
                  criteria=tuple(Criterion(e, Text(f"条件{i}", f"criterion {i}")) for i, e in enumerate(exprs)),
                  benefit=Benefit(BenefitKind.CASH_YEARLY, amount, "FP-TEST"), batch=batch)


def test_syntax_error_at_the_end() -> None:
    error = refused("person.age >= 60 &&")
    assert error.position == Position(line=1, column=18, offset=17)
    assert "syntax" in error.message and "语法" in error.message_zh


def test_syntax_error_on_a_later_line() -> None:
    error = refused("person.age >= 60 &&\n  household.only_child )")
    assert (error.position.line, error.position.column) == (2, 24)


def test_unknown_fact_is_named_with_a_suggestion_and_position() -> None:
    error = refused("household.only_child && person.agee >= 60")
    assert error.message == "Unknown fact person.agee. Did you mean person.age?"
    assert "未知的事实 person.agee" in error.message_zh
    assert error.position == Position(line=1, column=32, offset=31)  # at the field name


def test_bare_names_are_refused() -> None:
    assert "Unknown name age" in refused("age >= 60").message
    assert "Name a fact of person" in refused("person == 1").message


def test_type_errors_point_at_the_operator() -> None:
    error = refused('person.age >= "60"')
    assert error.message == "Cannot compare int with string using >=."
    assert error.position.offset == 11
    assert "CEL does not convert" in refused("person.age + 1u > 3").message
    assert refused("household.only_child && 1").message == "&& needs bool, got int."
    assert "in" in refused('person.age in ["a"]').message


def test_the_result_type_is_checked() -> None:
    assert refused("person.age").message == "The expression must give bool, but gives int."
    assert refused("person.age >= 60", expect="int").message == "The expression must give int, but gives bool."


def test_a_household_policy_reads_no_person_fact() -> None:
    error = refused("person.age >= 60", scopes=("household",))
    assert "only household facts" in error.message


def test_facts_read_in_order() -> None:
    expression = analyse("household.mother_age != null ? household.mother_age >= 49 : person.age >= 49", BOTH, "bool")
    assert expression.facts == ("household.mother_age", "person.age")
    assert expression.batch_problem is None


def test_policy_error_names_the_field() -> None:
    with pytest.raises(PolicyError) as caught:
        check_policy(policy("person.age >= 60", "household.bereaved || person.sexx == 'male'"))
    assert caught.value.field == "criteria[1].expr"
    assert caught.value.position == Position(line=1, column=30, offset=29)
    assert caught.value.as_dict()["position"] == {"line": 1, "column": 30, "offset": 29}
    with pytest.raises(PolicyError) as caught:
        check_policy(policy("person.age >= 60", amount="person.age >= 1"))
    assert caught.value.field == "benefit.amount"


@pytest.mark.parametrize("source", [
    "[1, 2].exists(x, x == person.age)",
    "size(household.low_income_kinds) > 0",
    "double(person.age) > 1.5",
    "(household.only_child ? household.mother_age : 3) > 2",
    "person.sex + 'x' == 'malex'",
    "true < false",
])
def test_outside_the_batch_subset(source: str) -> None:
    with pytest.raises(PolicyError) as caught:
        check_policy(policy(source))
    assert caught.value.field == "criteria[0].expr"
    assert caught.value.message.startswith("Outside the batch (SQL) subset")
    assert caught.value.position is not None
    checked = check_policy(policy(source, batch=False))  # fine for the per-subject path
    assert not checked.batch_ok and checked.batch_problem is not None


def test_inside_the_batch_subset() -> None:
    for source in [
        'person.age >= 60 && (household.hukou_type in ["rural"]) || !household.migrant',
        "person.disability_grade != null && person.disability_grade <= 3",
        'household.division_code.startsWith("3607") && "dibao" in household.low_income_kinds',
        'person.birth_date < timestamp("2025-01-01T00:00:00Z")',
        "(person.age / 0 == 1) || person.age % 7 == 3",
    ]:
        assert check_policy(policy(source)).batch_ok, source


def test_string_escapes() -> None:
    expression = analyse(r'person.sex == "a\"b\u00e9" || person.sex == r"\n"', BOTH, "bool")
    literals = [node.value for node in expression.ast.walk() if getattr(node, "kind", None) == "string"]
    assert literals == ['a"bé', "\\n"]


@pytest.mark.parametrize("source", ["-" * 3999 + "1", "1" + " + 1" * 999, "(" * 60 + "1" + ")" * 60],
                         ids=["unary-chain", "sum-chain", "parentheses"])
def test_an_expression_nested_too_deeply_is_refused_not_a_crash(source: str) -> None:
    """Issue 13: such an amount formula in a simulation was a RecursionError (500)."""
    error = refused(source, expect="int")
    assert "nests too deeply" in error.message and "嵌套过深" in error.message_zh


def test_a_reasonably_nested_expression_still_passes() -> None:
    analyse("(" * 20 + "person.age + 1" + ")" * 20 + " * 100", BOTH, "int")
    analyse(" + ".join(["person.age"] * 100), BOTH, "int")
