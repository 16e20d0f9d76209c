"""Hand-built households for the entitlements tests, and the library's edge cases.

`household(...)` builds the `person_facts` rows of one family the way the projection fills them: the
household's facts (derived here by the registry's rules from the children given) copied onto every
member's row. `LIBRARY_CASES` are hand-worked households at the edges of every library policy, each
with the decisions expected; the unit tests run them through the per-subject path and the integration
tests through the SQL path.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from entitlements.domain.facts_catalogue import FactsRow

NS = uuid.UUID("6f1c7f4e-8a53-4c1e-9d1e-2b7f0c1a9e55")
REPORTED = date(2024, 1, 1)  # when the registry announced the household facts


def uid(name: str) -> str:
    return str(uuid.uuid5(NS, name))


@dataclass(frozen=True)
class Member:
    name: str
    sex: str
    birth: date
    death: date | None = None
    disability: int | None = None


@dataclass(frozen=True)
class Family:
    name: str
    father: Member | None = None
    mother: Member | None = None
    children: tuple[Member, ...] = ()
    hukou: str = "rural"
    division: str = "360702001001"
    residence: str | None = None
    certificate: bool = False
    low_income_kinds: tuple[str, ...] = ()
    others: tuple[Member, ...] = field(default=())  # e.g. a grandparent living with them

    @property
    def id(self) -> str:
        return uid(self.name)

    def pid(self, member: Member) -> str:
        return uid(f"{self.name}/{member.name}")


def household(family: Family) -> list[FactsRow]:
    kids = family.children
    living = [k for k in kids if k.death is None]
    only = kids[0] if len(kids) == 1 else None
    only_child = len(kids) == 1 and len(living) == 1
    facts = dict(
        household_id=family.id, division_code=family.division, residence_division_code=family.residence,
        household_facts_as_of=REPORTED, hukou_type=family.hukou,
        migrant=family.residence is not None and family.residence != family.division,
        only_child=only_child,
        single_daughter=only_child and only is not None and only.sex == "female",
        two_daughters=len(kids) == 2 and all(k.sex == "female" for k in kids),
        bereaved=only is not None and only.death is not None,
        disabled_only_child=only_child and only is not None and only.disability in (1, 2, 3),
        low_income=bool(family.low_income_kinds), low_income_kinds=family.low_income_kinds,
        certificate_held=family.certificate, children_ever=len(kids), living_children=len(living),
        living_sons=sum(k.sex == "male" for k in living), living_daughters=sum(k.sex == "female" for k in living),
        youngest_child_birth_date=max((k.birth for k in living), default=None),
        mother_birth_date=family.mother.birth if family.mother else None,
        mother_death_date=family.mother.death if family.mother else None,
        father_birth_date=family.father.birth if family.father else None,
        father_death_date=family.father.death if family.father else None,
    )
    rows = []
    parents = [p for p in (family.father, family.mother) if p is not None]
    for index, parent in enumerate(parents):
        rows.append(FactsRow(person_id=family.pid(parent), sex=parent.sex, birth_date=parent.birth,
                             death_date=parent.death, relation="head" if index == 0 else "spouse", is_parent=True,
                             disability_grade=parent.disability, **facts))
    for kid in kids:
        rows.append(FactsRow(person_id=family.pid(kid), sex=kid.sex, birth_date=kid.birth, death_date=kid.death,
                             relation="child", is_child=True, disability_grade=kid.disability,
                             mother_id=family.pid(family.mother) if family.mother else None,
                             father_id=family.pid(family.father) if family.father else None, **facts))
    for other in family.others:
        rows.append(FactsRow(person_id=family.pid(other), sex=other.sex, birth_date=other.birth,
                             death_date=other.death, relation="parent", **facts))
    return rows


@dataclass(frozen=True)
class Case:
    """`policy` evaluated on `as_of` over `families`: exactly `expected` (subject id -> amount) are eligible."""

    id: str
    policy: str
    as_of: date
    families: tuple[Family, ...]
    expected: dict[str, int]

    @property
    def rows(self) -> list[FactsRow]:
        return [row for family in self.families for row in household(family)]


def _m(name: str, birth: date, **kw: object) -> Member:
    return Member(name, "male", birth, **kw)  # type: ignore[arg-type]


def _f(name: str, birth: date, **kw: object) -> Member:
    return Member(name, "female", birth, **kw)  # type: ignore[arg-type]


# ── families ────────────────────────────────────────────────────────────────────────────────────

# Rural only-child family: the father turns 60 on 2026-03-15, the mother is 58.
ONE_CHILD = Family("one-child", father=_m("dad", date(1966, 3, 15)), mother=_f("mum", date(1968, 5, 2)),
                   children=(_m("son", date(1992, 8, 1)),), certificate=True)
# Same family, urban hukou.
ONE_CHILD_URBAN = Family("one-child-urban", father=_m("dad", date(1960, 1, 1)), mother=_f("mum", date(1962, 1, 1)),
                         children=(_m("son", date(1990, 1, 1)),), hukou="urban", certificate=True)
# Rural two-daughter family, both parents over 60.
TWO_DAUGHTERS = Family("two-daughters", father=_m("dad", date(1955, 7, 1)), mother=_f("mum", date(1957, 9, 9)),
                       children=(_f("elder", date(1980, 1, 1)), _f("younger", date(1983, 3, 3))))
# Rural family with two sons: not covered by the reward schemes.
TWO_SONS = Family("two-sons", father=_m("dad", date(1950, 1, 1)), mother=_f("mum", date(1952, 1, 1)),
                  children=(_m("a", date(1975, 1, 1)), _m("b", date(1978, 1, 1))))
# Bereaved family: the only child died in 2019; the mother turns 49 on 2026-06-10, the father is 47.
BEREAVED = Family("bereaved", father=_m("dad", date(1979, 2, 2)), mother=_f("mum", date(1977, 6, 10)),
                  children=(_f("daughter", date(2000, 4, 4), death=date(2019, 11, 20)),))
# Bereaved urban family; the father dies mid-month, on 2026-07-15.
BEREAVED_URBAN = Family("bereaved-urban", father=_m("dad", date(1960, 1, 1), death=date(2026, 7, 15)),
                        mother=_f("mum", date(1961, 1, 1)),
                        children=(_m("son", date(1985, 1, 1), death=date(2010, 1, 1)),), hukou="urban")
# Bereaved single father (no woman among the household's parents): turns 49 on 2026-09-30.
BEREAVED_FATHER = Family("bereaved-father", father=_m("dad", date(1977, 9, 30)),
                         children=(_m("son", date(2001, 1, 1), death=date(2015, 5, 5)),))
# Bereaved family whose mother died (she would turn 49 on 2026-01-20); the father is 45.
BEREAVED_WIDOWER = Family("bereaved-widower", father=_m("dad", date(1981, 1, 1)),
                          mother=_f("mum", date(1977, 1, 20), death=date(2022, 3, 3)),
                          children=(_f("daughter", date(2003, 1, 1), death=date(2020, 1, 1)),))
# Disabled only child (grade 2), rural, mother 55.
DISABLED = Family("disabled", father=_m("dad", date(1969, 1, 1)), mother=_f("mum", date(1971, 1, 1)),
                  children=(_m("son", date(1995, 1, 1), disability=2),))
# Disabled only child (grade 2), urban.
DISABLED_URBAN = Family("disabled-urban", father=_m("dad", date(1969, 1, 1)), mother=_f("mum", date(1971, 1, 1)),
                        children=(_m("son", date(1995, 1, 1), disability=1),), hukou="urban")
# Only child with a grade-4 disability: not a "disabled only child" family.
DISABLED_MILD = Family("disabled-mild", father=_m("dad", date(1965, 1, 1)), mother=_f("mum", date(1966, 1, 1)),
                       children=(_f("girl", date(1990, 1, 1), disability=4),), certificate=True)
# Disabled only child (grade 3); the mother turns 49 on 2026-06-10; the father dies mid-month, 2026-08-17.
DISABLED_YOUNG = Family("disabled-young", father=_m("dad", date(1975, 2, 2), death=date(2026, 8, 17)),
                        mother=_f("mum", date(1977, 6, 10)), children=(_f("girl", date(2001, 1, 1), disability=3),))
# Certified only child who turns 18 on 2026-03-15.
TEEN = Family("teen", father=_m("dad", date(1980, 1, 1)), mother=_f("mum", date(1982, 1, 1)),
              children=(_f("girl", date(2008, 3, 15)),), certificate=True)
# Uncertified only-child family with a 10-year-old.
UNCERTIFIED = Family("uncertified", father=_m("dad", date(1985, 1, 1)), mother=_f("mum", date(1986, 1, 1)),
                     children=(_m("boy", date(2015, 6, 1)),))
# Babies: born 2022-10-20 (9 months in 2025), 2022-07-15 (turns 3 mid-2025: 6 months), 2023-06-05 (12),
# 2022-01-15 (turns 3 in January 2025: no month in 2025), 2025-03-10 (born in 2025).
BABIES = Family("babies", father=_m("dad", date(1990, 1, 1)), mother=_f("mum", date(1992, 1, 1)),
                children=(_f("oct22", date(2022, 10, 20)), _m("jul22", date(2022, 7, 15)),
                          _f("jun23", date(2023, 6, 5)),
                          _m("jan22", date(2022, 1, 15)), _f("mar25", date(2025, 3, 10))))
# A baby who died on 2025-05-15.
BABY_DIED = Family("baby-died", father=_m("dad", date(1990, 1, 1)), mother=_f("mum", date(1991, 1, 1)),
                   children=(_m("boy", date(2024, 2, 2), death=date(2025, 5, 15)), _f("girl", date(2020, 1, 1))))
# Certified only child who turns 7 on 2026-04-01.
SMALL = Family("small", father=_m("dad", date(1990, 1, 1)), mother=_f("mum", date(1992, 1, 1)),
               children=(_m("boy", date(2019, 4, 1)),), certificate=True)
# Rural one-child family with a 15-year-old and an urban one with a 15-year-old; a rural family whose
# daughter turns 12 on 2026-09-01.
EXAM_RURAL = Family("exam-rural", father=_m("dad", date(1980, 1, 1)), mother=_f("mum", date(1981, 1, 1)),
                    children=(_m("boy", date(2011, 5, 5)),))
EXAM_URBAN = Family("exam-urban", father=_m("dad", date(1980, 1, 1)), mother=_f("mum", date(1981, 1, 1)),
                    children=(_m("boy", date(2011, 5, 5)),), hukou="urban", certificate=True)
EXAM_YOUNG = Family("exam-young", father=_m("dad", date(1984, 1, 1)), mother=_f("mum", date(1985, 1, 1)),
                    children=(_f("girl", date(2014, 9, 1)),))


def pid(family: Family, name: str) -> str:
    for member in (family.father, family.mother, *family.children, *family.others):
        if member is not None and member.name == name:
            return family.pid(member)
    raise KeyError(name)


D = date
LIBRARY_CASES: tuple[Case, ...] = (
    # rural reward assistance: 960 yuan/person/year from 60
    Case("reward-day-before-60", "rural-reward-assistance", D(2026, 3, 14), (ONE_CHILD,), {}),
    Case("reward-turns-60", "rural-reward-assistance", D(2026, 3, 15), (ONE_CHILD,),
         {pid(ONE_CHILD, "dad"): 96000}),
    Case("reward-urban-excluded", "rural-reward-assistance", D(2026, 3, 15), (ONE_CHILD_URBAN,), {}),
    Case("reward-two-daughters-both", "rural-reward-assistance", D(2026, 1, 1), (TWO_DAUGHTERS, TWO_SONS),
         {pid(TWO_DAUGHTERS, "dad"): 96000, pid(TWO_DAUGHTERS, "mum"): 96000}),
    Case("reward-urban-bereaved-and-under-60", "rural-reward-assistance", D(2026, 1, 1), (BEREAVED_URBAN, DISABLED),
         {}),
    # special assistance, bereaved: from the mother's 49, 170 rural / 340 urban per person per month
    Case("bereaved-mother-48", "special-assistance-bereaved", D(2026, 6, 9), (BEREAVED,), {}),
    Case("bereaved-mother-turns-49", "special-assistance-bereaved", D(2026, 6, 10), (BEREAVED,),
         {pid(BEREAVED, "dad"): 17000, pid(BEREAVED, "mum"): 17000}),
    Case("bereaved-urban-before-death", "special-assistance-bereaved", D(2026, 7, 1), (BEREAVED_URBAN,),
         {pid(BEREAVED_URBAN, "dad"): 34000, pid(BEREAVED_URBAN, "mum"): 34000}),
    Case("bereaved-urban-death-day", "special-assistance-bereaved", D(2026, 7, 15), (BEREAVED_URBAN,),
         {pid(BEREAVED_URBAN, "mum"): 34000}),
    Case("bereaved-urban-month-after-death", "special-assistance-bereaved", D(2026, 8, 1), (BEREAVED_URBAN,),
         {pid(BEREAVED_URBAN, "mum"): 34000}),
    Case("bereaved-single-father-48", "special-assistance-bereaved", D(2026, 9, 29), (BEREAVED_FATHER,), {}),
    Case("bereaved-single-father-49", "special-assistance-bereaved", D(2026, 9, 30), (BEREAVED_FATHER,),
         {pid(BEREAVED_FATHER, "dad"): 17000}),
    Case("bereaved-widower-by-late-mother", "special-assistance-bereaved", D(2026, 1, 20), (BEREAVED_WIDOWER,),
         {pid(BEREAVED_WIDOWER, "dad"): 17000}),
    Case("bereaved-widower-before", "special-assistance-bereaved", D(2026, 1, 19), (BEREAVED_WIDOWER,), {}),
    Case("bereaved-not-disabled-or-normal", "special-assistance-bereaved", D(2026, 7, 1), (DISABLED, ONE_CHILD), {}),
    # special assistance, disabled only child: 150 rural / 270 urban
    Case("disabled-rural-and-urban", "special-assistance-disabled", D(2026, 1, 1),
         (DISABLED, DISABLED_URBAN, DISABLED_MILD, BEREAVED_URBAN),
         {pid(DISABLED, "dad"): 15000, pid(DISABLED, "mum"): 15000,
          pid(DISABLED_URBAN, "dad"): 27000, pid(DISABLED_URBAN, "mum"): 27000}),
    Case("disabled-mother-48", "special-assistance-disabled", D(2026, 6, 9), (DISABLED_YOUNG,), {}),
    Case("disabled-mother-turns-49", "special-assistance-disabled", D(2026, 6, 10), (DISABLED_YOUNG,),
         {pid(DISABLED_YOUNG, "dad"): 15000, pid(DISABLED_YOUNG, "mum"): 15000}),
    Case("disabled-father-dies-mid-month", "special-assistance-disabled", D(2026, 8, 17), (DISABLED_YOUNG,),
         {pid(DISABLED_YOUNG, "mum"): 15000}),
    # only-child parents' reward fee: certified household, child under 18, 10 yuan a month
    Case("fee-child-17", "only-child-parents-reward-fee", D(2026, 3, 1), (TEEN, UNCERTIFIED, SMALL),
         {TEEN.id: 1000, SMALL.id: 1000}),
    Case("fee-child-turned-18", "only-child-parents-reward-fee", D(2026, 4, 1), (TEEN,), {}),
    Case("fee-child-18-today", "only-child-parents-reward-fee", D(2026, 3, 15), (TEEN,), {}),
    # childcare subsidy 2025: 300 yuan per month under 3 in the year
    Case("childcare-2025-start", "childcare-subsidy-2025", D(2025, 1, 1), (BABIES,),
         {pid(BABIES, "oct22"): 270000, pid(BABIES, "jul22"): 180000, pid(BABIES, "jun23"): 360000}),
    Case("childcare-born-in-2025", "childcare-subsidy-2025", D(2025, 3, 10), (BABIES,),
         {pid(BABIES, "oct22"): 270000, pid(BABIES, "jul22"): 180000, pid(BABIES, "jun23"): 360000,
          pid(BABIES, "mar25"): 300000}),
    Case("childcare-2026", "childcare-subsidy-2025", D(2026, 1, 1), (BABIES,),
         {pid(BABIES, "jun23"): 150000, pid(BABIES, "mar25"): 360000}),
    Case("childcare-final-year", "childcare-subsidy-2025", D(2028, 1, 1), (BABIES,), {pid(BABIES, "mar25"): 60000}),
    Case("childcare-death-mid-month", "childcare-subsidy-2025", D(2025, 5, 15), (BABY_DIED,), {}),
    Case("childcare-before-death", "childcare-subsidy-2025", D(2025, 5, 14), (BABY_DIED,),
         {pid(BABY_DIED, "boy"): 360000}),
    # Spring Festival visits: certified only-child and two-daughter households
    Case("visit-list", "spring-festival-visit", D(2026, 1, 15),
         (ONE_CHILD, TWO_DAUGHTERS, UNCERTIFIED, BEREAVED, TWO_SONS, DISABLED_MILD),
         {ONE_CHILD.id: 0, TWO_DAUGHTERS.id: 0, DISABLED_MILD.id: 0}),
    # only-child insurance: certified only children aged 0-6
    Case("insurance-age-6", "only-child-insurance", D(2026, 3, 31), (SMALL, UNCERTIFIED, TEEN),
         {pid(SMALL, "boy"): 0}),
    Case("insurance-turns-7", "only-child-insurance", D(2026, 4, 1), (SMALL,), {}),
    # exam bonus points: rural one-child / two-daughter children aged 12-18
    Case("exam-bonus", "exam-bonus-points", D(2026, 6, 1), (EXAM_RURAL, EXAM_URBAN, EXAM_YOUNG),
         {pid(EXAM_RURAL, "boy"): 10}),
    Case("exam-bonus-turns-12", "exam-bonus-points", D(2026, 9, 1), (EXAM_YOUNG,), {pid(EXAM_YOUNG, "girl"): 10}),
    # fee waivers: living parents of certified one-child, two-daughter, bereaved, disabled-only-child families
    Case("fee-waiver", "fee-waiver-benefit-card", D(2026, 8, 1),
         (ONE_CHILD, UNCERTIFIED, TWO_DAUGHTERS, BEREAVED_URBAN, DISABLED, TWO_SONS),
         {pid(ONE_CHILD, "dad"): 0, pid(ONE_CHILD, "mum"): 0, pid(TWO_DAUGHTERS, "dad"): 0,
          pid(TWO_DAUGHTERS, "mum"): 0, pid(BEREAVED_URBAN, "mum"): 0, pid(DISABLED, "dad"): 0,
          pid(DISABLED, "mum"): 0}),
    Case("fee-waiver-day-before-death", "fee-waiver-benefit-card", D(2026, 7, 14), (BEREAVED_URBAN,),
         {pid(BEREAVED_URBAN, "dad"): 0, pid(BEREAVED_URBAN, "mum"): 0}),
    Case("fee-waiver-death-mid-month", "fee-waiver-benefit-card", D(2026, 7, 15), (BEREAVED_URBAN,),
         {pid(BEREAVED_URBAN, "mum"): 0}),
    # relief priority: bereaved and disabled-only-child households
    Case("relief-priority", "relief-priority", D(2026, 1, 1),
         (BEREAVED, BEREAVED_URBAN, DISABLED, DISABLED_MILD, ONE_CHILD, TWO_DAUGHTERS),
         {BEREAVED.id: 0, BEREAVED_URBAN.id: 0, DISABLED.id: 0}),
    Case("relief-priority-grade-3-not-4", "relief-priority", D(2026, 8, 17), (DISABLED_YOUNG, DISABLED_MILD),
         {DISABLED_YOUNG.id: 0}),
)


async def load_rows(conn, rows: list[FactsRow]) -> None:  # noqa: ANN001 - an AsyncConnection
    """Replace the whole `person_facts` table with `rows`."""
    from sqlalchemy import insert, text

    from entitlements.adapters.batch import record_values
    from entitlements.db.tables import PersonFactsRecord

    await conn.execute(text("TRUNCATE person_facts"))
    if rows:
        await conn.execute(insert(PersonFactsRecord.__table__), [record_values(row) for row in rows])
