"""The facts projection: the registry's person and household events into `person_facts`.

Each person event (registered, updated, died, disability changed, moved, low income changed) carries the
person's current record (`person_event_data` in the registry: ids, division codes, sex, birth and death
dates, relation, parents, the ID number's blind index); each household event carries the household's
places (and, when registered or updated, its hukou type); `registry.household.facts_changed` carries the
household's facts. The handlers run inside the kit's inbox transaction, so an event is applied once.

Order: the registry stamps each event with the time it was made. A person row keeps the time of the
newest person event applied to it (`person_event_at`), a household the times of its newest place event
and facts event (`household_projection`); an event older than what is stored is ignored (a late
redelivery never rolls a row back). Events of one household are serialised by a transaction-scoped
advisory lock on the household id.

The `apply_*` functions change a person's own columns or the household's record and say which households
they touched; the caller then rebuilds each touched household's rows once from what is known
(`refresh_household`, once per batch of events rather than once per event): the household's facts and
places copied onto every member's row; `is_parent` (head or spouse), `is_child`
(a parent link to one of the household's parents) and the parents' birth and death dates from their own
rows. A record the registry merged into another (`merged_into`) stays, outside every population. A person
event that arrives before its household's facts, or a facts event before a parent's row,
is completed when the other arrives.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from entitlements.db.tables import HouseholdProjectionRecord, PersonFactsRecord

PERSON_REGISTERED = "registry.person.registered"
PERSON_UPDATED = "registry.person.updated"
PERSON_DIED = "registry.person.died"
PERSON_DISABILITY_CHANGED = "registry.person.disability_changed"
PERSON_MOVED = "registry.person.moved"
LOW_INCOME_CHANGED = "registry.low_income.changed"
HOUSEHOLD_REGISTERED = "registry.household.registered"
HOUSEHOLD_UPDATED = "registry.household.updated"
HOUSEHOLD_FACTS_CHANGED = "registry.household.facts_changed"
CERTIFICATE_ISSUED = "registry.certificate.issued"
CERTIFICATE_REVOKED = "registry.certificate.revoked"

PERSON_EVENTS = (PERSON_REGISTERED, PERSON_UPDATED, PERSON_DIED, PERSON_DISABILITY_CHANGED, PERSON_MOVED,
                 LOW_INCOME_CHANGED)
HOUSEHOLD_EVENTS = (HOUSEHOLD_REGISTERED, HOUSEHOLD_UPDATED, HOUSEHOLD_FACTS_CHANGED, CERTIFICATE_ISSUED,
                    CERTIFICATE_REVOKED)

PF = PersonFactsRecord.__table__
HP = HouseholdProjectionRecord.__table__


@dataclass(frozen=True)
class Applied:
    """What an event changed: the households whose rows must be rebuilt (empty when it was stale)."""

    households: tuple[uuid.UUID, ...]
    effective_date: date | None = None


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


def _date(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


async def lock_household(session: AsyncSession, household_id: uuid.UUID) -> None:
    """Serialise the handling of one household's events (held to the end of the transaction)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                          {"key": f"entitlements.household:{household_id}"})


async def apply_person_event(session: AsyncSession, event_type: str, data: dict[str, Any],
                             event_time: datetime) -> Applied:
    person_id = _uuid(data["person_id"])
    household_id = _uuid(data["household_id"])
    assert person_id is not None and household_id is not None
    stored = (await session.execute(select(PF.c.household_id, PF.c.person_event_at)
                                    .where(PF.c.person_id == person_id))).first()
    households = sorted({household_id} | ({stored.household_id} if stored else set()))
    for hid in households:
        await lock_household(session, hid)
    stored = (await session.execute(select(PF.c.household_id, PF.c.person_event_at)
                                    .where(PF.c.person_id == person_id).with_for_update())).first()
    if stored is not None and stored.person_event_at is not None and event_time < stored.person_event_at:
        return Applied(())  # an older event delivered late
    index = data.get("id_number_index")
    if index and not data.get("merged_into"):  # a merged duplicate may have held it: the newest holder keeps it
        await session.execute(update(PF).where(PF.c.id_number_index == index, PF.c.person_id != person_id)
                              .values(id_number_index=None))
    values: dict[str, Any] = {
        "household_id": household_id,
        "division_code": data["division_code"],
        "residence_division_code": data.get("residence_division_code"),
        "id_number_index": index,
        "sex": data["sex"],
        "birth_date": _date(data["birth_date"]),
        "death_date": _date(data.get("death_date")),
        "relation": data["relation"],
        "mother_id": _uuid(data.get("mother_id")),
        "father_id": _uuid(data.get("father_id")),
        "person_event_at": event_time,
        "updated_at": func.now(),
    }
    merged_into = _uuid(data.get("merged_into"))
    if merged_into is not None:  # a duplicate merged away: its identifiers went to the record kept
        values |= {"merged_into": merged_into, "id_number_index": None}
    if event_type == PERSON_DISABILITY_CHANGED and "grade" in data:
        values["disability_grade"] = data["grade"]
    statement = pg_insert(PF).values(person_id=person_id, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=["person_id"], set_=values))
    effective = _date(data.get("effective_date"))
    await _note_effective_date(session, household_id, effective)
    return Applied(tuple(households), effective)


async def apply_household_event(session: AsyncSession, event_type: str, data: dict[str, Any],
                                event_time: datetime) -> Applied:
    household_id = _uuid(data["household_id"])
    assert household_id is not None
    await lock_household(session, household_id)
    await session.execute(pg_insert(HP).values(household_id=household_id).on_conflict_do_nothing())
    stored = (await session.execute(select(HP).where(HP.c.household_id == household_id).with_for_update())).one()
    changes: dict[str, Any] = {}
    if stored.household_event_at is None or event_time >= stored.household_event_at:
        changes |= {"household_event_at": event_time, "division_code": data.get("division_code"),
                    "residence_division_code": data.get("residence_division_code")}
        if data.get("hukou_type"):
            changes["hukou_type"] = data["hukou_type"]
        if event_type != HOUSEHOLD_FACTS_CHANGED:
            changes["last_effective_date"] = _date(data.get("effective_date"))
    if event_type == HOUSEHOLD_FACTS_CHANGED and isinstance(data.get("facts"), dict) and (
            stored.facts_event_at is None or event_time >= stored.facts_event_at):
        changes |= {"facts": data["facts"], "facts_event_at": event_time}
    if not changes:
        return Applied(())
    await session.execute(update(HP).where(HP.c.household_id == household_id)
                          .values(**changes, updated_at=func.now()))
    effective = changes.get("last_effective_date") if event_type != HOUSEHOLD_FACTS_CHANGED \
        else stored.last_effective_date
    return Applied((household_id,), effective)


async def _note_effective_date(session: AsyncSession, household_id: uuid.UUID, effective: date | None) -> None:
    await session.execute(pg_insert(HP).values(household_id=household_id, last_effective_date=effective)
                          .on_conflict_do_update(index_elements=["household_id"],
                                                 set_={"last_effective_date": effective}))


async def refresh_household(session: AsyncSession, household_id: uuid.UUID) -> None:
    """Copy the household's facts and places onto its members' rows (see the module docstring)."""
    household = (await session.execute(select(HP).where(HP.c.household_id == household_id))).first()
    members = (await session.execute(select(PF.c.person_id, PF.c.relation, PF.c.sex)
                                     .where(PF.c.household_id == household_id))).all()
    if not members:
        return
    facts: dict[str, Any] | None = household.facts if household is not None else None
    if facts is not None:
        parents = [(_uuid(p["person_id"]), p.get("sex")) for p in facts.get("parents") or []]
    else:
        parents = [(m.person_id, m.sex) for m in members if m.relation in ("head", "spouse")]
    parent_ids = [pid for pid, _ in parents if pid is not None]
    dates = {r.person_id: r for r in (await session.execute(
        select(PF.c.person_id, PF.c.sex, PF.c.birth_date, PF.c.death_date)
        .where(PF.c.person_id.in_(parent_ids)))).all()} if parent_ids else {}
    mother = next((dates.get(pid) for pid, sex in parents if sex == "female" and pid in dates), None)
    father = next((dates.get(pid) for pid, sex in parents if sex == "male" and pid in dates), None)

    values: dict[str, Any] = {
        "is_parent": PF.c.relation.in_(("head", "spouse")),
        "is_child": func.coalesce(PF.c.mother_id.in_(parent_ids), False)
        | func.coalesce(PF.c.father_id.in_(parent_ids), False) if parent_ids else False,
        "mother_birth_date": mother.birth_date if mother else None,
        "mother_death_date": mother.death_date if mother else None,
        "father_birth_date": father.birth_date if father else None,
        "father_death_date": father.death_date if father else None,
        "updated_at": func.now(),
    }
    if household is not None and household.division_code:
        values["division_code"] = household.division_code
        values["residence_division_code"] = household.residence_division_code
    if facts is None:
        values |= {"household_facts_as_of": None, "hukou_type": (household.hukou_type if household else None) or ""}
    else:
        kinds = [str(k) for k in facts.get("low_income_kinds") or []]
        values |= {
            "household_facts_as_of": _date(facts.get("as_of")) or date.today(),
            "hukou_type": facts.get("hukou_type") or (household.hukou_type if household else None) or "",
            "migrant": bool(facts.get("migrant")),
            "only_child": bool(facts.get("only_child")),
            "single_daughter": bool(facts.get("single_daughter")),
            "two_daughters": bool(facts.get("two_daughters")),
            "bereaved": bool(facts.get("bereaved")),
            "disabled_only_child": bool(facts.get("disabled_only_child")),
            "low_income": bool(facts.get("low_income")),
            "low_income_kinds": kinds,
            "certificate_held": bool(facts.get("certificate_held")),
            "children_ever": int(facts.get("children_ever") or 0),
            "living_children": int(facts.get("living_children") or 0),
            "living_sons": int(facts.get("living_sons") or 0),
            "living_daughters": int(facts.get("living_daughters") or 0),
            "youngest_child_birth_date": _date(facts.get("youngest_child_birth_date")),
        }
    await session.execute(update(PF).where(PF.c.household_id == household_id).values(**values))
    # a record merged into another is no one: it belongs to no population (its decisions are revoked)
    await session.execute(update(PF).where(PF.c.household_id == household_id, PF.c.merged_into.is_not(None))
                          .values(household_facts_as_of=None))
