"""Households of a synthetic county: who lives together, how old they are, what happened to them.

Pure and deterministic: the same seed gives the same county. Shares of household kinds follow the
programmes' populations (DOMAIN.md): only-child and two-daughter families, about 1 % bereaved (失独),
about 0.5 % with a severely disabled only child (伤残), migrants, low-income families, and the ordinary
rest. Ages are plausible: mothers bear children between 20 and 38, spouses are near in age.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from faker import Faker

from demo.county.divisions import Township
from demo.county.identity import ResidentIds, bank_card, phone

# Share of households by kind; the rest are young couples without children yet.
KIND_SHARES: tuple[tuple[str, float], ...] = (
    ("only_child", 0.26),
    ("two_daughters", 0.05),
    ("two_children", 0.30),
    ("three_children", 0.06),
    ("bereaved", 0.01),
    ("disabled_only_child", 0.005),
    ("single", 0.10),
    ("elderly_couple", 0.07),
    ("young_couple", 0.105),
)
MIGRANT_SHARE = 0.05
LOW_INCOME_SHARE = 0.04
CERTIFICATE_SHARE = 0.7  # of only-child parents whose child was born 1979–2015


@dataclass(frozen=True)
class PersonRow:
    id_number: str
    name: str
    sex: str  # 男 / 女
    birth_date: date
    relation: str  # 户主 / 配偶 / 子女
    phone: str | None = None
    bank_card: str | None = None
    mother_id_number: str | None = None
    father_id_number: str | None = None


@dataclass(frozen=True)
class EventRow:
    """A life event the import file cannot carry, for the person with this ID number."""

    id_number: str
    kind: str  # death, disability_assessed, certificate_issued, low_income_changed
    effective_date: date
    payload: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class HouseholdRow:
    ref: str
    division_code: str
    township: str
    hukou_type: str  # 农业 / 非农业
    kind: str
    members: tuple[PersonRow, ...]
    events: tuple[EventRow, ...] = ()
    residence_division_code: str | None = None
    low_income: bool = False


@dataclass
class CountyGenerator:
    seed: int
    townships: list[Township]
    as_of: date = date(2026, 1, 1)
    rng: random.Random = field(init=False)
    faker: Faker = field(init=False)
    ids: ResidentIds = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.faker = Faker("zh_CN")
        self.faker.seed_instance(self.seed)
        self.ids = ResidentIds(self.rng)
        self._kinds = [k for k, _ in KIND_SHARES]
        self._weights = [w for _, w in KIND_SHARES]
        self._certificates = 0

    def households(self, persons: int) -> Iterator[HouseholdRow]:
        """Households until at least `persons` persons have been generated."""
        made, n = 0, 0
        while made < persons:
            n += 1
            household = self.household(n)
            made += len(household.members)
            yield household

    def household(self, n: int) -> HouseholdRow:
        township = self.townships[self.rng.randrange(len(self.townships))]
        place = self.rng.choice(township.places)
        kind = self.rng.choices(self._kinds, self._weights)[0]
        members, events = self._family(kind, place[:6])
        if kind not in ("single", "elderly_couple", "young_couple") and len(members) == 2:
            kind = "young_couple"  # the children would be born after as_of
        migrant = self.rng.random() < MIGRANT_SHARE and len(self.townships) > 1
        residence = None
        if migrant:
            elsewhere = [t for t in self.townships if t.code != township.code]
            residence = self.rng.choice(self.rng.choice(elsewhere).places)
        low_income = self.rng.random() < LOW_INCOME_SHARE
        if low_income:
            since = self.as_of - timedelta(days=self.rng.randrange(30, 2000))
            events.append(
                EventRow(
                    members[0].id_number, "low_income_changed", since, {"low_income_kind": "dibao", "in_force": True}
                )
            )
        rural = (self.rng.random() < 0.15) if township.urban else (self.rng.random() < 0.85)
        return HouseholdRow(
            ref=f"{place[:9]}-{n:07d}",
            division_code=place,
            township=township.code,
            hukou_type="农业" if rural else "非农业",
            kind=kind,
            members=tuple(members),
            events=tuple(events),
            residence_division_code=residence,
            low_income=low_income,
        )

    # -- families -------------------------------------------------------------------------------------

    def _family(self, kind: str, region6: str) -> tuple[list[PersonRow], list[EventRow]]:
        if kind == "single":
            male = self.rng.random() < 0.5
            return [self._adult(region6, self._age(20, 85), male, "户主")], []
        if kind in ("elderly_couple", "young_couple"):
            mother_age = self._age(60, 85) if kind == "elderly_couple" else self._age(21, 34)
            return self._couple(region6, mother_age), []
        children = {
            "only_child": 1,
            "bereaved": 1,
            "disabled_only_child": 1,
            "two_daughters": 2,
            "two_children": 2,
            "three_children": 3,
        }[kind]
        mother_age = self._age(22 + 2 * children, 80) if kind != "bereaved" else self._age(45, 80)
        members = self._couple(region6, mother_age)
        father, mother = members
        events: list[EventRow] = []
        sexes = self._child_sexes(kind, children)
        for sex_male in sexes:
            child = self._child(region6, mother, father, sex_male)
            if child is not None:
                members.append(child)
        kids = members[2:]
        if len(kids) != children:  # a child would be born after as_of: keep the family childless
            return members[:2], []
        if kind == "bereaved":
            events.append(self._death(kids[0]))
        if kind == "disabled_only_child":
            assessed = min(self.as_of - timedelta(days=1), kids[0].birth_date + timedelta(days=365 * 3))
            events.append(
                EventRow(
                    kids[0].id_number,
                    "disability_assessed",
                    max(assessed, kids[0].birth_date),
                    {"grade": self.rng.choice((1, 2, 3))},
                )
            )
        if (
            children == 1
            and date(1979, 1, 1) <= kids[0].birth_date <= date(2015, 12, 31)
            and self.rng.random() < CERTIFICATE_SHARE
        ):
            events.append(self._certificate(mother, kids[0]))
        return members, events

    def _child_sexes(self, kind: str, children: int) -> list[bool]:
        if kind == "two_daughters":
            return [False, False]
        sexes = [self.rng.random() < 0.52 for _ in range(children)]
        if kind == "two_children" and not any(sexes):
            sexes[self.rng.randrange(2)] = True  # two daughters is its own kind
        return sexes

    def _couple(self, region6: str, mother_age: int) -> list[PersonRow]:
        father_age = max(22, mother_age + self.rng.randint(-2, 5))
        father = self._adult(region6, father_age, True, "户主")
        mother = self._adult(region6, mother_age, False, "配偶", surname=None)
        return [father, mother]

    def _adult(self, region6: str, age: int, male: bool, relation: str, surname: str | None = None) -> PersonRow:
        birth = self._birth_for_age(age)
        name = (surname or self.faker.last_name()) + (
            self.faker.first_name_male() if male else self.faker.first_name_female()
        )
        return PersonRow(
            id_number=self.ids.new(region6, birth, male),
            name=name,
            sex="男" if male else "女",
            birth_date=birth,
            relation=relation,
            phone=phone(self.rng) if self.rng.random() < 0.92 else None,
            bank_card=bank_card(self.rng) if self.rng.random() < 0.95 else None,
        )

    def _child(self, region6: str, mother: PersonRow, father: PersonRow, male: bool) -> PersonRow | None:
        birth = mother.birth_date + timedelta(days=self.rng.randrange(20 * 365, 38 * 365))
        if birth > self.as_of:
            return None
        adult = (self.as_of - birth).days >= 18 * 365
        name = father.name[0] + (self.faker.first_name_male() if male else self.faker.first_name_female())
        return PersonRow(
            id_number=self.ids.new(region6, birth, male),
            name=name,
            sex="男" if male else "女",
            birth_date=birth,
            relation="子女",
            mother_id_number=mother.id_number,
            father_id_number=father.id_number,
            phone=phone(self.rng) if adult and self.rng.random() < 0.9 else None,
            bank_card=bank_card(self.rng) if adult and self.rng.random() < 0.5 else None,
        )

    def _death(self, child: PersonRow) -> EventRow:
        lived = (self.as_of - child.birth_date).days
        died = child.birth_date + timedelta(days=self.rng.randrange(max(1, lived // 4), max(2, lived)))
        return EventRow(child.id_number, "death", min(died, self.as_of - timedelta(days=1)))

    def _certificate(self, mother: PersonRow, child: PersonRow) -> EventRow:
        self._certificates += 1
        issued = min(self.as_of - timedelta(days=1), child.birth_date + timedelta(days=self.rng.randrange(60, 1800)))
        number = f"{mother.id_number[:6]}{issued.year}{self._certificates:07d}"
        return EventRow(mother.id_number, "certificate_issued", issued, {"certificate_number": number})

    def _age(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def _birth_for_age(self, age: int) -> date:
        return self.as_of - timedelta(days=age * 365 + self.rng.randrange(0, 365))
