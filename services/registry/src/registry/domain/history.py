"""Life events and how they fold into the state on a day.

Every change to a person or household is a `LifeEvent` with an effective date (when it happened in
the world) and a recorded-at time (when the registry learned of it). A correction is a new event
that `supersedes` an earlier one: a `retracted` event removes it, an event of the same kind replaces
it. Superseded events are ignored whatever day is asked about; every other event counts from its
effective date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

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


class LifeEventKind(StrEnum):
    BIRTH = "birth"  # a person born into a household (effective: the birth date)
    REGISTERED = "registered"  # a person entered in the registry (effective: registration date)
    DEATH = "death"
    DISABILITY_ASSESSED = "disability_assessed"  # payload: grade 1–4, or null when withdrawn
    MARRIAGE = "marriage"  # payload: spouse_id
    DIVORCE = "divorce"  # payload: spouse_id
    MOVED_IN = "moved_in"  # the event's household is the one moved into
    MOVED_OUT = "moved_out"  # payload: to_division_code (optional)
    LOW_INCOME_CHANGED = "low_income_changed"  # payload: kind (dibao/tekun), in_force (bool)
    CERTIFICATE_ISSUED = "certificate_issued"  # payload: number
    CERTIFICATE_REVOKED = "certificate_revoked"  # payload: number
    ADOPTED = "adopted"  # payload: parent_id, role (mother/father)
    RESIDENCE_CHANGED = "residence_changed"  # household; payload: residence_division_code or null
    RETRACTED = "retracted"  # supersedes an event recorded in error


PERSON_KINDS = frozenset(LifeEventKind) - {LifeEventKind.RESIDENCE_CHANGED}
ENTRY_KINDS = frozenset({LifeEventKind.BIRTH, LifeEventKind.REGISTERED, LifeEventKind.MOVED_IN})


@dataclass(frozen=True)
class LifeEvent:
    id: str
    kind: LifeEventKind
    effective_date: date
    household_id: str
    person_id: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    supersedes: str | None = None
    recorded_at: datetime | None = None
    seq: int = 0


@dataclass(frozen=True)
class PersonIdentity:
    """What does not change with time (a corrected birth date is a re-registration, not an event)."""

    id: str
    sex: Sex
    birth_date: date
    relation: str
    mother_id: str | None = None
    father_id: str | None = None


@dataclass(frozen=True)
class HouseholdIdentity:
    id: str
    division_code: str
    hukou_type: HukouType
    residence_division_code: str | None = None


def in_force(events: Iterable[LifeEvent]) -> list[LifeEvent]:
    """Events not superseded by a later correction, in the order they took effect."""
    events = list(events)
    superseded = {e.supersedes for e in events if e.supersedes}
    kept = [e for e in events if e.id not in superseded and e.kind is not LifeEventKind.RETRACTED]
    return sorted(kept, key=lambda e: (e.effective_date, e.seq))


def person_on_record(identity: PersonIdentity, events: Iterable[LifeEvent]) -> Person:
    """The person with every dated record (the facts function reads them as of its own day)."""
    mine = [e for e in in_force(events) if e.person_id == identity.id]
    parents = [ParentLink(pid, role) for pid, role in ((identity.mother_id, ParentRole.MOTHER),
                                                        (identity.father_id, ParentRole.FATHER)) if pid]
    parents += [
        ParentLink(str(e.payload["parent_id"]), ParentRole(e.payload["role"]), ParentLinkKind.ADOPTIVE,
                   e.effective_date)
        for e in mine if e.kind is LifeEventKind.ADOPTED
    ]
    deaths = [e.effective_date for e in mine if e.kind is LifeEventKind.DEATH]
    return Person(
        id=identity.id,
        sex=identity.sex,
        birth_date=identity.birth_date,
        parents=tuple(parents),
        death_date=deaths[-1] if deaths else None,
        disability=tuple(DisabilityAssessment(e.effective_date, e.payload.get("grade"))
                         for e in mine if e.kind is LifeEventKind.DISABILITY_ASSESSED),
        low_income=_low_income_spells(mine),
    )


def _low_income_spells(events: list[LifeEvent]) -> tuple[LowIncomeSpell, ...]:
    spells: list[LowIncomeSpell] = []
    open_since: dict[LowIncomeKind, date] = {}
    for e in events:
        if e.kind is not LifeEventKind.LOW_INCOME_CHANGED:
            continue
        kind = LowIncomeKind(e.payload["kind"])
        if e.payload.get("in_force", True):
            open_since.setdefault(kind, e.effective_date)
        elif kind in open_since:
            spells.append(LowIncomeSpell(kind, open_since.pop(kind), e.effective_date))
    spells += [LowIncomeSpell(kind, start) for kind, start in open_since.items()]
    return tuple(sorted(spells, key=lambda s: (s.start, s.kind)))


def household_on(person_id: str, events: Iterable[LifeEvent], day: date) -> str | None:
    """The household a person is registered in on `day` (None before entry or after moving out)."""
    current: str | None = None
    for e in in_force(events):
        if e.person_id != person_id or e.effective_date > day:
            continue
        if e.kind in ENTRY_KINDS:
            current = e.household_id
        elif e.kind is LifeEventKind.MOVED_OUT and current == e.household_id:
            current = None
    return current


_RELATION_ORDER = {"head": 0, "spouse": 1}


def household_on_record(
    identity: HouseholdIdentity,
    events: Iterable[LifeEvent],
    persons: Iterable[PersonIdentity],
    day: date,
) -> Household:
    """The household as it stands on `day`: members, parents (head and spouse), residence, certificates."""
    events = in_force(events)
    residence = identity.residence_division_code
    changes = [e for e in events if e.kind is LifeEventKind.RESIDENCE_CHANGED and e.household_id == identity.id]
    if changes:
        before = [e for e in changes if e.effective_date <= day]
        residence = before[-1].payload.get("residence_division_code") if before else None
    # Head, spouse, then everyone else by birth date: a stable order for people reading the
    # household, and so that unchanged facts compare equal.
    members = sorted((p for p in persons if household_on(p.id, events, day) == identity.id),
                     key=lambda p: (_RELATION_ORDER.get(p.relation, 2), p.birth_date, p.id))
    parents = [p.id for p in members if p.relation in ("head", "spouse")][:2]
    return Household(
        id=identity.id,
        division_code=identity.division_code,
        hukou_type=identity.hukou_type,
        parent_ids=tuple(parents),
        member_ids=tuple(p.id for p in members),
        residence_division_code=residence,
        certificates=_certificates(identity.id, events),
    )


def _certificates(household_id: str, events: list[LifeEvent]) -> tuple[HonourCertificate, ...]:
    issued: dict[str, date] = {}
    revoked: dict[str, date] = {}
    for e in events:
        if e.household_id != household_id:
            continue
        if e.kind is LifeEventKind.CERTIFICATE_ISSUED:
            issued[str(e.payload["number"])] = e.effective_date
        elif e.kind is LifeEventKind.CERTIFICATE_REVOKED:
            revoked[str(e.payload["number"])] = e.effective_date
    return tuple(HonourCertificate(n, d, revoked.get(n)) for n, d in sorted(issued.items(), key=lambda i: i[1]))
