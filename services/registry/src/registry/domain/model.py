"""Households and persons as the facts function sees them: frozen values, no storage, no PII.

Life records that change over time (parent links by adoption, death, disability assessments,
low-income spells, certificates) carry their own dates, so one snapshot can be read "as of" any day.
A household's plain attributes (hukou type, divisions, who its parents and members are) are the
values in force on the day asked about: the service layer replays household events up to that day.

Deliberately absent, everywhere: pregnancy, contraception and sterilisation. Benefits are defined by
household composition only (see DOMAIN.md, "What this platform never does").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from registry.domain.errors import FieldError


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


class HukouType(StrEnum):
    """Registered hukou of the household: 农业 (rural) or 非农业 (urban)."""

    RURAL = "rural"
    URBAN = "urban"


class ParentRole(StrEnum):
    MOTHER = "mother"
    FATHER = "father"


class ParentLinkKind(StrEnum):
    """How a child is linked to a parent. Both kinds make the person that parent's child.

    BIRTH: the parent's own child (亲生), from the child's birth.
    ADOPTIVE: a legally registered adoption (收养), from the adoption date.
    A stepchild is not linked to the step-parent: it counts as a household child through its own
    mother or father. Fostering, guardianship or living together create no link.
    """

    BIRTH = "birth"
    ADOPTIVE = "adoptive"


class LowIncomeKind(StrEnum):
    DIBAO = "dibao"  # 最低生活保障 minimum living guarantee
    TEKUN = "tekun"  # 特困人员救助供养 extreme-hardship support


@dataclass(frozen=True)
class ParentLink:
    """`parent_id` is this person's mother or father, of `kind`, from `since` on.

    For a BIRTH link `since` may be left out (it is the child's birth date); an ADOPTIVE link needs it.
    """

    parent_id: str
    role: ParentRole
    kind: ParentLinkKind = ParentLinkKind.BIRTH
    since: date | None = None

    def __post_init__(self) -> None:
        if self.kind is ParentLinkKind.ADOPTIVE and self.since is None:
            raise FieldError("parents.since", "An adoption needs its date.", "收养关系须注明收养日期。")


@dataclass(frozen=True)
class DisabilityAssessment:
    """A disability certificate assessment (残疾人证): grade 1 (most severe) to 4, from `assessed_on`.

    The latest assessment on or before a day is the one in force; `grade=None` records that the
    person no longer holds a disability grade (certificate withdrawn or reassessed as not disabled).
    """

    assessed_on: date
    grade: int | None


@dataclass(frozen=True)
class LowIncomeSpell:
    """A 低保 or 特困 spell: in force from `start` up to, not including, `end` (None: still in force)."""

    kind: LowIncomeKind
    start: date
    end: date | None = None

    def in_force_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day < self.end)


@dataclass(frozen=True)
class HonourCertificate:
    """Only-Child Parents' Honour Certificate (独生子女父母光荣证).

    Held from `issued_on` up to, not including, `revoked_on`.
    """

    number: str
    issued_on: date
    revoked_on: date | None = None

    def held_on(self, day: date) -> bool:
        return self.issued_on <= day and (self.revoked_on is None or day < self.revoked_on)


@dataclass(frozen=True)
class Person:
    id: str
    sex: Sex
    birth_date: date
    parents: tuple[ParentLink, ...] = ()
    death_date: date | None = None
    disability: tuple[DisabilityAssessment, ...] = ()
    low_income: tuple[LowIncomeSpell, ...] = ()

    def born_by(self, day: date) -> bool:
        """A person born after `day` does not exist yet on `day`."""
        return self.birth_date <= day

    def alive_on(self, day: date) -> bool:
        """Born by `day` and not dead by it: a person who died on `day` is no longer living on it."""
        return self.born_by(day) and (self.death_date is None or day < self.death_date)

    def disability_grade_on(self, day: date) -> int | None:
        """Grade of the latest assessment on or before `day`; None if none or withdrawn.

        Ties on one day go to the record listed last (a same-day correction).
        """
        current: DisabilityAssessment | None = None
        for assessment in self.disability:
            if assessment.assessed_on <= day and (
                current is None or assessment.assessed_on >= current.assessed_on
            ):
                current = assessment
        return None if current is None else current.grade

    def age_on(self, day: date) -> int:
        """Completed years on `day`. A 29 February birthday is reached on 1 March in other years."""
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday


@dataclass(frozen=True)
class Household:
    """A registered household (户), as it stands on the day asked about.

    `parent_ids`: the one or two persons whose family the programmes look at (usually the head and
    spouse). `member_ids`: everyone registered in the household; children living elsewhere are still
    children (found through their parent links) but not members. `residence_division_code` is where
    the household actually lives, None when it lives at its hukou place.
    """

    id: str
    division_code: str
    hukou_type: HukouType
    parent_ids: tuple[str, ...]
    member_ids: tuple[str, ...] = ()
    residence_division_code: str | None = None
    certificates: tuple[HonourCertificate, ...] = ()
