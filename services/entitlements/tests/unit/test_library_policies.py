"""Every library policy on hand-worked households at its edges, through the per-subject path.

The same cases run through the SQL path in tests/integration/test_library_sql.py.
"""

from datetime import date

import pytest
from entitlements_support import BEREAVED, BEREAVED_WIDOWER, LIBRARY_CASES, ONE_CHILD, Case, household, pid

from entitlements.adapters.policy_library import load_library
from entitlements.domain.evaluation import evaluate, evaluate_population

LIBRARY = {checked.policy.code: checked for checked in load_library()}


def test_every_library_policy_has_edge_cases() -> None:
    assert set(LIBRARY) == {case.policy for case in LIBRARY_CASES}
    assert len(LIBRARY) == 10


@pytest.mark.parametrize("case", LIBRARY_CASES, ids=lambda case: case.id)
def test_library_case_per_subject(case: Case) -> None:
    checked = LIBRARY[case.policy]
    assert checked.policy.in_force_on(case.as_of)
    decisions = evaluate_population(checked, case.rows, case.as_of)
    got = {d.subject_id: d.amount for d in decisions if d.eligible}
    assert got == case.expected, [(d.subject_id, d.summary_en, [c.text_en for c in d.criteria]) for d in decisions]


def _decision(code: str, rows, person: str, as_of: date):
    row = next(r for r in rows if r.person_id == person)
    return evaluate(LIBRARY[code], row, as_of)


def test_explanation_of_a_father_under_60() -> None:
    decision = _decision("rural-reward-assistance", household(ONE_CHILD), pid(ONE_CHILD, "dad"), date(2026, 3, 14))
    assert not decision.eligible and decision.amount is None
    lines = [c.text_zh for c in decision.criteria]
    assert lines == [
        "符合：父亲为本户父母（户主或配偶）（是）",
        "符合：父亲在世（是）",
        "符合：农业户口（户籍性质：农业户口）",
        "符合：独生子女户、二女户或独生子女死亡现无子女（独生子女户：是；二女户：否；失独家庭：否）",
        "不符合：父亲年龄未满60周岁（59岁）",
    ]
    assert decision.criteria[-1].text_en == "Not met: the father is under 60 (59 years)"
    assert decision.criteria[-1].facts[0].name == "person.age" and decision.criteria[-1].facts[0].value == 59
    assert decision.summary_zh == "不符合「农村部分计划生育家庭奖励扶助」：1项条件未满足"


def test_explanation_of_an_eligible_father() -> None:
    decision = _decision("rural-reward-assistance", household(ONE_CHILD), pid(ONE_CHILD, "dad"), date(2026, 3, 15))
    assert decision.eligible and decision.amount == 96000 and decision.unit == "fen"
    assert decision.criteria[-1].text_zh == "符合：父亲年满60周岁（父亲年龄60岁）"
    assert decision.criteria[-1].text_en == "Met: the father is 60 or over (the father's age 60 years)"
    assert decision.summary_zh == "符合「农村部分计划生育家庭奖励扶助」，金额960.00元"
    assert decision.summary_en == "Eligible for Reward assistance for rural family-planning families: 960.00 yuan"


def test_explanation_reads_the_mothers_age_for_the_father() -> None:
    decision = _decision("special-assistance-bereaved", household(BEREAVED), pid(BEREAVED, "dad"), date(2026, 6, 9))
    last = decision.criteria[-1]
    assert not last.passed
    assert last.text_zh == "不符合：女方未满49周岁（无女方的，男方本人未满49周岁）（女方年龄48岁；父亲年龄47岁）"
    assert [f.name for f in last.facts] == ["household.mother_age", "person.age"]


def test_explanation_of_a_dead_mother_whose_age_still_counts() -> None:
    rows = household(BEREAVED_WIDOWER)
    mum = _decision("special-assistance-bereaved", rows, pid(BEREAVED_WIDOWER, "mum"), date(2026, 1, 20))
    dad = _decision("special-assistance-bereaved", rows, pid(BEREAVED_WIDOWER, "dad"), date(2026, 1, 20))
    assert not mum.eligible and "母亲已去世" in mum.criteria[1].text_zh
    assert dad.eligible and dad.amount == 17000


def test_a_household_policy_is_decided_once_per_household() -> None:
    checked = LIBRARY["spring-festival-visit"]
    decisions = evaluate_population(checked, household(ONE_CHILD), date(2026, 1, 15))
    assert len(decisions) == 1 and decisions[0].subject == "household" and decisions[0].eligible
    assert decisions[0].criteria[0].text_zh.startswith("符合：持证独生子女户或二女户（")
