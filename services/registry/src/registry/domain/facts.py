"""Household facts: the categories the programmes care about, derived as of a day, never typed in.

One pure function, `household_facts`. Edge rules, all evaluated on `as_of`:

Who is a child
  A person is a child of the household when one of their parent links (mother or father, birth or
  adoptive) points at one of the household's parents and is in force on `as_of`: a birth link from the
  child's birth, an adoptive link from its `since` date. So, after a remarriage, the children of both
  spouses from earlier marriages are all children of the household, each counted once. A household
  parent is never their own household's child. A person born after `as_of` does not exist yet, and
  a child adopted after `as_of` is not a child yet.

Living
  Born on or before `as_of` and not dead on it: a death dated after `as_of` has not happened yet; a
  death on `as_of` has.

Categories (children "ever" = all children as defined above, living or dead)
  only-child (独生子女户): exactly one child ever, and that child is living.
  single-daughter (独女户): only-child, and the child is a daughter.
  two-daughter (二女户): exactly two children ever, both daughters (twins included; a death does not
    change the composition).
  bereaved (失独): exactly one child ever, and that child has died. Adopting or having another child
    afterwards ends it (that makes two children ever, one of them living).
  disabled-only-child (伤残): only-child, and the child's disability grade in force is 1, 2 or 3. The
    grade stays with the child past age 18 until reassessed.

Other facts
  parents: one entry per household parent born by `as_of`, with age in completed years, or None
    once dead.
  youngest child's birth date: among the living children (the benefits keyed on it are for living
    children); None without one.
  migrant (流动人口): the household lives at a division code other than its hukou division code.
  low-income: some member living on `as_of` has a 低保 or 特困 spell in force on it.
  certificate held: an Only-Child Parents' Honour Certificate issued on or before `as_of` and not
    revoked by then; if several are, the one issued last.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from registry.domain.errors import FieldError
from registry.domain.model import (
    HonourCertificate,
    Household,
    HukouType,
    LowIncomeKind,
    ParentLink,
    Person,
    Sex,
)

SEVERE_DISABILITY_GRADES = frozenset({1, 2, 3})


@dataclass(frozen=True)
class ParentFacts:
    person_id: str
    sex: Sex
    alive: bool
    age: int | None  # completed years on as_of; None once dead


@dataclass(frozen=True)
class HouseholdFacts:
    household_id: str
    as_of: date
    children_ever: int
    living_children: int
    living_sons: int
    living_daughters: int
    only_child: bool
    single_daughter: bool
    two_daughters: bool
    bereaved: bool
    disabled_only_child: bool
    parents: tuple[ParentFacts, ...]
    youngest_child_birth_date: date | None
    hukou_type: HukouType
    migrant: bool
    low_income: bool
    low_income_kinds: tuple[LowIncomeKind, ...]
    certificate_held: bool
    certificate_number: str | None


def household_facts(household: Household, persons: Iterable[Person], as_of: date) -> HouseholdFacts:
    """The household's facts on `as_of` (see the module docstring for every edge rule).

    `persons` must hold the household's parents and members and may hold anyone else (children
    living elsewhere, unrelated people): only parent links decide who is a child.
    """
    by_id = {person.id: person for person in persons}
    parents = _household_parents(household, by_id)
    parent_ids = frozenset(household.parent_ids)

    children = [
        person
        for person in by_id.values()
        if person.id not in parent_ids
        and person.born_by(as_of)
        and any(
            _link_in_force(person, link, as_of) and link.parent_id in parent_ids for link in person.parents
        )
    ]
    living = [child for child in children if child.alive_on(as_of)]
    sons = sum(child.sex is Sex.MALE for child in living)
    daughters = sum(child.sex is Sex.FEMALE for child in living)

    only_child = len(children) == 1 and len(living) == 1
    only = children[0] if len(children) == 1 else None
    kinds = _low_income_kinds(household, by_id, as_of)
    certificate = _certificate_held(household.certificates, as_of)

    return HouseholdFacts(
        household_id=household.id,
        as_of=as_of,
        children_ever=len(children),
        living_children=len(living),
        living_sons=sons,
        living_daughters=daughters,
        only_child=only_child,
        single_daughter=only_child and only is not None and only.sex is Sex.FEMALE,
        two_daughters=len(children) == 2 and all(child.sex is Sex.FEMALE for child in children),
        bereaved=only is not None and not only.alive_on(as_of),
        disabled_only_child=only_child
        and only is not None
        and only.disability_grade_on(as_of) in SEVERE_DISABILITY_GRADES,
        parents=tuple(
            ParentFacts(
                person_id=parent.id,
                sex=parent.sex,
                alive=parent.alive_on(as_of),
                age=parent.age_on(as_of) if parent.alive_on(as_of) else None,
            )
            for parent in parents
            if parent.born_by(as_of)
        ),
        youngest_child_birth_date=max((child.birth_date for child in living), default=None),
        hukou_type=household.hukou_type,
        migrant=household.residence_division_code is not None
        and household.residence_division_code != household.division_code,
        low_income=bool(kinds),
        low_income_kinds=kinds,
        certificate_held=certificate is not None,
        certificate_number=None if certificate is None else certificate.number,
    )


def _household_parents(household: Household, by_id: dict[str, Person]) -> list[Person]:
    if not 1 <= len(household.parent_ids) <= 2:
        raise FieldError(
            "parent_ids",
            "A household has one or two parents.",
            "一个家庭应有一至两名父母。",
        )
    missing = [pid for pid in household.parent_ids if pid not in by_id]
    if missing:
        raise FieldError(
            "parent_ids",
            f"Parent not among the persons given: {', '.join(missing)}.",
            f"所给人员中没有该父母：{'、'.join(missing)}。",
        )
    return [by_id[pid] for pid in household.parent_ids]


def _link_in_force(child: Person, link: ParentLink, as_of: date) -> bool:
    since = link.since if link.since is not None else child.birth_date
    return since <= as_of


def _low_income_kinds(
    household: Household, by_id: dict[str, Person], as_of: date
) -> tuple[LowIncomeKind, ...]:
    kinds = {
        spell.kind
        for member_id in household.member_ids
        if (member := by_id.get(member_id)) is not None and member.alive_on(as_of)
        for spell in member.low_income
        if spell.in_force_on(as_of)
    }
    return tuple(kind for kind in LowIncomeKind if kind in kinds)


def _certificate_held(certificates: Iterable[HonourCertificate], as_of: date) -> HonourCertificate | None:
    held = [certificate for certificate in certificates if certificate.held_on(as_of)]
    return max(held, key=lambda certificate: certificate.issued_on, default=None)
