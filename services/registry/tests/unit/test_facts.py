"""The household facts function, one family at a time, as of a day."""

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from registry.domain.errors import FieldError
from registry.domain.facts import household_facts
from registry.domain.model import (
    DisabilityAssessment,
    HonourCertificate,
    Household,
    HukouType,
    LowIncomeKind,
    LowIncomeSpell,
    ParentLink,
    ParentLinkKind,
    ParentRole,
    Person,
    Sex,
)

VILLAGE = "360702100201"
AS_OF = date(2024, 6, 1)

MOTHER = Person("mother", Sex.FEMALE, date(1960, 3, 15))
FATHER = Person("father", Sex.MALE, date(1958, 7, 1))


def child(
    person_id: str,
    sex: Sex,
    born: date,
    *,
    of: tuple[str, ...] = ("mother", "father"),
    died: date | None = None,
    **extra: Any,
) -> Person:
    """`of` is (mother, father)."""
    links = tuple(
        ParentLink(parent, role)
        for parent, role in zip(of, (ParentRole.MOTHER, ParentRole.FATHER), strict=False)
    )
    return Person(person_id, sex, born, parents=links, death_date=died, **extra)


def adopted(person_id: str, sex: Sex, born: date, on: date) -> Person:
    links = tuple(
        ParentLink(parent, role, ParentLinkKind.ADOPTIVE, since=on)
        for parent, role in (("mother", ParentRole.MOTHER), ("father", ParentRole.FATHER))
    )
    return Person(person_id, sex, born, parents=links)


def household(**changes: Any) -> Household:
    base = Household(
        id="h1",
        division_code=VILLAGE,
        hukou_type=HukouType.RURAL,
        parent_ids=("mother", "father"),
        member_ids=("mother", "father"),
    )
    return replace(base, **changes)


SON = child("son", Sex.MALE, date(1986, 5, 1))
DAUGHTER = child("daughter", Sex.FEMALE, date(1988, 9, 9))

NOTHING = {
    "children_ever": 0,
    "living_children": 0,
    "only_child": False,
    "two_daughters": False,
    "bereaved": False,
}

CASES: list[tuple[str, list[Person], date, dict[str, Any]]] = [
    ("no children", [], AS_OF, {**NOTHING, "youngest_child_birth_date": None, "disabled_only_child": False}),
    (
        "one son",
        [SON],
        AS_OF,
        {
            "children_ever": 1,
            "living_sons": 1,
            "living_daughters": 0,
            "only_child": True,
            "single_daughter": False,
        },
    ),
    (
        "one daughter",
        [DAUGHTER],
        AS_OF,
        {
            "only_child": True,
            "single_daughter": True,
            "two_daughters": False,
            "youngest_child_birth_date": date(1988, 9, 9),
        },
    ),
    (
        "two daughters",
        [DAUGHTER, child("younger", Sex.FEMALE, date(1992, 1, 1))],
        AS_OF,
        {
            "children_ever": 2,
            "living_daughters": 2,
            "only_child": False,
            "single_daughter": False,
            "two_daughters": True,
        },
    ),
    (
        "one son and one daughter",
        [SON, DAUGHTER],
        AS_OF,
        {"living_sons": 1, "living_daughters": 1, "only_child": False, "two_daughters": False},
    ),
    (
        "twin daughters",
        [child("twin-a", Sex.FEMALE, date(1990, 4, 4)), child("twin-b", Sex.FEMALE, date(1990, 4, 4))],
        AS_OF,
        {
            "children_ever": 2,
            "only_child": False,
            "two_daughters": True,
            "youngest_child_birth_date": date(1990, 4, 4),
        },
    ),
    (
        "twin son and daughter",
        [child("twin-a", Sex.MALE, date(1990, 4, 4)), child("twin-b", Sex.FEMALE, date(1990, 4, 4))],
        AS_OF,
        {
            "children_ever": 2,
            "living_sons": 1,
            "living_daughters": 1,
            "only_child": False,
            "two_daughters": False,
        },
    ),
    (
        "the only child died as an adult",
        [child("son", Sex.MALE, date(1986, 5, 1), died=date(2015, 8, 20))],
        AS_OF,
        {
            "children_ever": 1,
            "living_children": 0,
            "only_child": False,
            "bereaved": True,
            "youngest_child_birth_date": None,
        },
    ),
    (
        "before the only child died",
        [child("son", Sex.MALE, date(1986, 5, 1), died=date(2015, 8, 20))],
        date(2015, 8, 19),
        {"living_children": 1, "only_child": True, "bereaved": False},
    ),
    (
        "on the day the only child died",
        [child("son", Sex.MALE, date(1986, 5, 1), died=date(2015, 8, 20))],
        date(2015, 8, 20),
        {"living_children": 0, "only_child": False, "bereaved": True},
    ),
    (
        "a death after as_of has not happened yet",
        [child("daughter", Sex.FEMALE, date(1988, 9, 9), died=date(2030, 1, 1))],
        AS_OF,
        {"living_children": 1, "single_daughter": True, "bereaved": False},
    ),
    (
        "a child born after as_of does not exist yet",
        [SON, child("late", Sex.FEMALE, date(2025, 1, 1))],
        AS_OF,
        {
            "children_ever": 1,
            "living_children": 1,
            "only_child": True,
            "youngest_child_birth_date": date(1986, 5, 1),
        },
    ),
    (
        "a child born on as_of exists",
        [child("baby", Sex.FEMALE, AS_OF)],
        AS_OF,
        {"children_ever": 1, "single_daughter": True, "youngest_child_birth_date": AS_OF},
    ),
    (
        "one of two children died: not bereaved, not only-child",
        [SON, child("daughter", Sex.FEMALE, date(1988, 9, 9), died=date(2000, 1, 1))],
        AS_OF,
        {"children_ever": 2, "living_children": 1, "only_child": False, "bereaved": False},
    ),
    (
        "both of two daughters died: two-daughter household, not bereaved",
        [
            child("a", Sex.FEMALE, date(1988, 9, 9), died=date(2000, 1, 1)),
            child("b", Sex.FEMALE, date(1990, 9, 9), died=date(2001, 1, 1)),
        ],
        AS_OF,
        {"children_ever": 2, "living_children": 0, "two_daughters": True, "bereaved": False},
    ),
    (
        "the youngest child died: youngest living birth date is the older one's",
        [SON, child("daughter", Sex.FEMALE, date(1988, 9, 9), died=date(2000, 1, 1))],
        AS_OF,
        {"youngest_child_birth_date": date(1986, 5, 1)},
    ),
    (
        "adoption counts from the adoption date",
        [adopted("adoptee", Sex.FEMALE, date(2008, 2, 2), on=date(2012, 3, 1))],
        AS_OF,
        {"children_ever": 1, "only_child": True, "single_daughter": True},
    ),
    (
        "before the adoption there is no child",
        [adopted("adoptee", Sex.FEMALE, date(2008, 2, 2), on=date(2012, 3, 1))],
        date(2012, 2, 29),
        NOTHING,
    ),
    (
        "adopting after the only child died ends bereavement",
        [
            child("son", Sex.MALE, date(1986, 5, 1), died=date(2015, 8, 20)),
            adopted("adoptee", Sex.FEMALE, date(2016, 2, 2), on=date(2018, 3, 1)),
        ],
        AS_OF,
        {"children_ever": 2, "living_children": 1, "only_child": False, "bereaved": False},
    ),
    (
        "bereaved until the adoption",
        [
            child("son", Sex.MALE, date(1986, 5, 1), died=date(2015, 8, 20)),
            adopted("adoptee", Sex.FEMALE, date(2016, 2, 2), on=date(2018, 3, 1)),
        ],
        date(2017, 1, 1),
        {"children_ever": 1, "bereaved": True},
    ),
    (
        "remarriage: a daughter from each earlier marriage make two daughters",
        [
            child("hers", Sex.FEMALE, date(1985, 1, 1), of=("mother", "her-ex")),
            child("his", Sex.FEMALE, date(1983, 1, 1), of=("his-ex", "father")),
        ],
        AS_OF,
        {"children_ever": 2, "living_daughters": 2, "only_child": False, "two_daughters": True},
    ),
    (
        "remarriage: children of both marriages and a joint son",
        [
            child("hers", Sex.FEMALE, date(1985, 1, 1), of=("mother", "her-ex")),
            child("his", Sex.MALE, date(1983, 1, 1), of=("his-ex", "father")),
            child("joint", Sex.MALE, date(1995, 1, 1)),
            child("ex-only", Sex.MALE, date(1996, 1, 1), of=("her-ex", "someone-else")),
        ],
        AS_OF,
        {
            "children_ever": 3,
            "living_sons": 2,
            "living_daughters": 1,
            "youngest_child_birth_date": date(1995, 1, 1),
        },
    ),
    (
        "a disabled only child turning 18 stays disabled",
        [child("son", Sex.MALE, date(2006, 6, 1), disability=(DisabilityAssessment(date(2010, 1, 1), 2),))],
        date(2024, 6, 1),
        {"only_child": True, "disabled_only_child": True},
    ),
    (
        "the day before the disabled only child turns 18",
        [child("son", Sex.MALE, date(2006, 6, 1), disability=(DisabilityAssessment(date(2010, 1, 1), 2),))],
        date(2024, 5, 31),
        {"disabled_only_child": True},
    ),
    (
        "before the disability assessment",
        [child("son", Sex.MALE, date(2006, 6, 1), disability=(DisabilityAssessment(date(2010, 1, 1), 2),))],
        date(2009, 12, 31),
        {"only_child": True, "disabled_only_child": False},
    ),
    (
        "grade 4 is not a disabled-only-child household",
        [child("son", Sex.MALE, date(2006, 6, 1), disability=(DisabilityAssessment(date(2010, 1, 1), 4),))],
        AS_OF,
        {"disabled_only_child": False},
    ),
    (
        "reassessed from grade 4 to grade 3",
        [
            child(
                "son",
                Sex.MALE,
                date(2006, 6, 1),
                disability=(
                    DisabilityAssessment(date(2020, 1, 1), 3),
                    DisabilityAssessment(date(2010, 1, 1), 4),
                ),
            )
        ],
        AS_OF,
        {"disabled_only_child": True},
    ),
    (
        "disability grade withdrawn",
        [
            child(
                "son",
                Sex.MALE,
                date(2006, 6, 1),
                disability=(
                    DisabilityAssessment(date(2010, 1, 1), 1),
                    DisabilityAssessment(date(2022, 1, 1), None),
                ),
            )
        ],
        AS_OF,
        {"disabled_only_child": False},
    ),
    (
        "a disabled child with a sibling is not a disabled-only-child household",
        [
            child("son", Sex.MALE, date(2006, 6, 1), disability=(DisabilityAssessment(date(2010, 1, 1), 1),)),
            DAUGHTER,
        ],
        AS_OF,
        {"disabled_only_child": False},
    ),
]


@pytest.mark.parametrize(("case", "children", "as_of", "expected"), CASES, ids=[case for case, *_ in CASES])
def test_household_facts(case: str, children: list[Person], as_of: date, expected: dict[str, Any]) -> None:
    facts = household_facts(household(), [MOTHER, FATHER, *children], as_of)
    assert {name: getattr(facts, name) for name in expected} == expected
    assert facts.as_of == as_of
    assert facts.living_sons + facts.living_daughters == facts.living_children <= facts.children_ever


AGES = [
    # (mother's birth date, day, age)
    (date(1960, 2, 29), date(2020, 2, 28), 59),
    (date(1960, 2, 29), date(2020, 2, 29), 60),
    (date(1960, 2, 29), date(2021, 2, 28), 60),
    (date(1960, 2, 29), date(2021, 3, 1), 61),
    (date(1975, 6, 1), date(2024, 5, 31), 48),
    (date(1975, 6, 1), date(2024, 6, 1), 49),
]


@pytest.mark.parametrize(("born", "day", "age"), AGES)
def test_each_parents_age_in_completed_years(born: date, day: date, age: int) -> None:
    facts = household_facts(household(), [replace(MOTHER, birth_date=born), FATHER], day)
    assert facts.parents[0].person_id == "mother"
    assert facts.parents[0].age == age
    assert facts.parents[0].alive is True


def test_a_dead_parent_has_no_age_and_a_lone_parent_household_works() -> None:
    facts = household_facts(household(), [MOTHER, replace(FATHER, death_date=date(2020, 1, 1)), SON], AS_OF)
    assert [(parent.person_id, parent.alive, parent.age) for parent in facts.parents] == [
        ("mother", True, 64),
        ("father", False, None),
    ]
    lone = household_facts(
        household(parent_ids=("mother",)), [MOTHER, child("d", Sex.FEMALE, date(2000, 1, 1))], AS_OF
    )
    assert lone.single_daughter is True
    assert len(lone.parents) == 1


HOUSEHOLD_CASES: list[tuple[str, dict[str, Any], list[Person], date, dict[str, Any]]] = [
    ("lives at the hukou place", {}, [], AS_OF, {"migrant": False, "hukou_type": HukouType.RURAL}),
    ("same residence code", {"residence_division_code": VILLAGE}, [], AS_OF, {"migrant": False}),
    (
        "lives elsewhere",
        {"residence_division_code": "440305001001", "hukou_type": HukouType.URBAN},
        [],
        AS_OF,
        {"migrant": True, "hukou_type": HukouType.URBAN},
    ),
    (
        "a member on 低保",
        {},
        [replace(MOTHER, low_income=(LowIncomeSpell(LowIncomeKind.DIBAO, date(2020, 1, 1)),))],
        AS_OF,
        {"low_income": True, "low_income_kinds": (LowIncomeKind.DIBAO,)},
    ),
    (
        "低保 and 特困 in force",
        {},
        [
            replace(MOTHER, low_income=(LowIncomeSpell(LowIncomeKind.TEKUN, date(2023, 1, 1)),)),
            replace(
                FATHER, low_income=(LowIncomeSpell(LowIncomeKind.DIBAO, date(2020, 1, 1), date(2025, 1, 1)),)
            ),
        ],
        AS_OF,
        {"low_income": True, "low_income_kinds": (LowIncomeKind.DIBAO, LowIncomeKind.TEKUN)},
    ),
    (
        "a 低保 spell that ended",
        {},
        [replace(MOTHER, low_income=(LowIncomeSpell(LowIncomeKind.DIBAO, date(2020, 1, 1), AS_OF),))],
        AS_OF,
        {"low_income": False, "low_income_kinds": ()},
    ),
    (
        "a 低保 spell not started yet",
        {},
        [replace(MOTHER, low_income=(LowIncomeSpell(LowIncomeKind.DIBAO, date(2024, 6, 2)),))],
        AS_OF,
        {"low_income": False},
    ),
    (
        "a child on 低保 in another household",
        {},
        [
            child(
                "son",
                Sex.MALE,
                date(1986, 5, 1),
                low_income=(LowIncomeSpell(LowIncomeKind.DIBAO, date(2020, 1, 1)),),
            )
        ],
        AS_OF,
        {"low_income": False, "only_child": True},
    ),
    (
        "a member child on 低保",
        {"member_ids": ("mother", "father", "son")},
        [
            child(
                "son",
                Sex.MALE,
                date(1986, 5, 1),
                low_income=(LowIncomeSpell(LowIncomeKind.DIBAO, date(2020, 1, 1)),),
            )
        ],
        AS_OF,
        {"low_income": True},
    ),
    (
        "certificate held",
        {"certificates": (HonourCertificate("赣章0001", date(1990, 1, 1)),)},
        [SON],
        AS_OF,
        {"certificate_held": True, "certificate_number": "赣章0001"},
    ),
    (
        "certificate not issued yet",
        {"certificates": (HonourCertificate("赣章0001", date(2025, 1, 1)),)},
        [SON],
        AS_OF,
        {"certificate_held": False, "certificate_number": None},
    ),
    (
        "certificate revoked on as_of",
        {"certificates": (HonourCertificate("赣章0001", date(1990, 1, 1), revoked_on=AS_OF),)},
        [SON],
        AS_OF,
        {"certificate_held": False},
    ),
    (
        "certificate revoked, a new one issued later",
        {
            "certificates": (
                HonourCertificate("赣章0001", date(1990, 1, 1), revoked_on=date(2000, 1, 1)),
                HonourCertificate("赣章0777", date(2001, 1, 1)),
            )
        },
        [SON],
        AS_OF,
        {"certificate_held": True, "certificate_number": "赣章0777"},
    ),
]


@pytest.mark.parametrize(
    ("case", "changes", "persons", "as_of", "expected"),
    HOUSEHOLD_CASES,
    ids=[case for case, *_ in HOUSEHOLD_CASES],
)
def test_household_level_facts(
    case: str, changes: dict[str, Any], persons: list[Person], as_of: date, expected: dict[str, Any]
) -> None:
    given_ids = {person.id for person in persons}
    everyone = [*persons, *(parent for parent in (MOTHER, FATHER) if parent.id not in given_ids)]
    facts = household_facts(household(**changes), everyone, as_of)
    assert {name: getattr(facts, name) for name in expected} == expected


def test_a_parent_missing_from_the_persons_is_refused() -> None:
    with pytest.raises(FieldError) as caught:
        household_facts(household(), [MOTHER], AS_OF)
    assert caught.value.field == "parent_ids"
    assert "father" in caught.value.message


@pytest.mark.parametrize("parent_ids", [(), ("mother", "father", "grandmother")])
def test_a_household_has_one_or_two_parents(parent_ids: tuple[str, ...]) -> None:
    with pytest.raises(FieldError):
        household_facts(household(parent_ids=parent_ids), [MOTHER, FATHER], AS_OF)


def test_an_adoption_needs_its_date() -> None:
    with pytest.raises(FieldError) as caught:
        ParentLink("mother", ParentRole.MOTHER, ParentLinkKind.ADOPTIVE)
    assert caught.value.field == "parents.since"


def test_no_reproductive_field_exists_anywhere() -> None:
    words = ("pregnan", "contracept", "steril", "iud", "abortion")
    for model in (Person, Household, ParentLink, DisabilityAssessment, LowIncomeSpell, HonourCertificate):
        for name in model.__dataclass_fields__:
            assert not any(word in name.lower() for word in words), (model.__name__, name)


children_strategy = st.lists(
    st.tuples(
        st.sampled_from(list(Sex)),
        st.dates(min_value=date(1980, 1, 1), max_value=date(2030, 1, 1)),
        st.one_of(st.none(), st.dates(min_value=date(1980, 1, 1), max_value=date(2040, 1, 1))),
    ),
    max_size=4,
)


@settings(deadline=None)
@given(children=children_strategy, as_of=st.dates(min_value=date(1979, 1, 1), max_value=date(2040, 1, 1)))
def test_facts_are_consistent_for_any_family(
    children: list[tuple[Sex, date, date | None]], as_of: date
) -> None:
    persons = [
        child(f"c{index}", sex, born, died=died if died is None or died >= born else None)
        for index, (sex, born, died) in enumerate(children)
    ]
    facts = household_facts(household(), [MOTHER, FATHER, *persons], as_of)
    existing = [person for person in persons if person.birth_date <= as_of]
    assert facts.children_ever == len(existing)
    assert facts.living_sons + facts.living_daughters == facts.living_children <= facts.children_ever
    assert facts.only_child == (facts.children_ever == 1 and facts.living_children == 1)
    assert not (facts.only_child and facts.bereaved)
    assert facts.single_daughter <= facts.only_child
    assert facts.bereaved <= (facts.children_ever == 1)
    assert (facts.youngest_child_birth_date is None) == (facts.living_children == 0)
    # the facts on a day depend only on what had happened by then
    known_then = [
        replace(
            person, death_date=person.death_date if person.death_date and person.death_date <= as_of else None
        )
        for person in existing
    ]
    assert household_facts(household(), [MOTHER, FATHER, *known_then], as_of) == facts
