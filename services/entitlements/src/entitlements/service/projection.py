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

# The statements of the hot path, built once (building and caching SQLAlchemy constructs per event cost
# more than the database's work: a bulk import sends about two events a person).
LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
STORED_PERSON = text("SELECT household_id, person_event_at FROM person_facts WHERE person_id = :pid")
STORED_PERSON_LOCKED = text(
    "SELECT household_id, person_event_at FROM person_facts WHERE person_id = :pid FOR UPDATE")
CLEAR_INDEX = text(
    "UPDATE person_facts SET id_number_index = NULL WHERE id_number_index = :index AND person_id <> :pid")
# The person's own columns, and the effective date of the household's latest life event, in one round trip.
UPSERT_PERSON = text("""
WITH person AS (
    INSERT INTO person_facts (person_id, household_id, division_code, residence_division_code, id_number_index,
                              sex, birth_date, death_date, relation, mother_id, father_id, person_event_at,
                              updated_at, merged_into, disability_grade)
    VALUES (:pid, :hid, :division, :residence, :index, :sex, :birth, :death, :relation, :mother, :father, :at,
            now(), :merged_into, :grade)
    ON CONFLICT (person_id) DO UPDATE SET
        household_id = EXCLUDED.household_id, division_code = EXCLUDED.division_code,
        residence_division_code = EXCLUDED.residence_division_code, id_number_index = EXCLUDED.id_number_index,
        sex = EXCLUDED.sex, birth_date = EXCLUDED.birth_date, death_date = EXCLUDED.death_date,
        relation = EXCLUDED.relation, mother_id = EXCLUDED.mother_id, father_id = EXCLUDED.father_id,
        person_event_at = EXCLUDED.person_event_at, updated_at = now(),
        merged_into = CASE WHEN CAST(:set_merged AS boolean) THEN EXCLUDED.merged_into
                           ELSE person_facts.merged_into END,
        disability_grade = CASE WHEN CAST(:set_grade AS boolean) THEN EXCLUDED.disability_grade
                                ELSE person_facts.disability_grade END
    RETURNING 1
), household AS (
    INSERT INTO household_projection (household_id, last_effective_date) VALUES (:hid, :effective)
    ON CONFLICT (household_id) DO UPDATE SET last_effective_date = EXCLUDED.last_effective_date
    RETURNING 1
)
SELECT (SELECT count(*) FROM person) + (SELECT count(*) FROM household)
""")
HOUSEHOLD_RECORD = text(
    "SELECT division_code, residence_division_code, hukou_type, facts FROM household_projection"
    " WHERE household_id = :hid")
MEMBERS = text(
    "SELECT person_id, relation, sex, birth_date, death_date FROM person_facts WHERE household_id = :hid")
PARENT_DATES = text(
    "SELECT person_id, sex, birth_date, death_date FROM person_facts WHERE person_id = ANY(CAST(:ids AS uuid[]))")
FACT_COLUMNS = ("migrant", "only_child", "single_daughter", "two_daughters", "bereaved", "disabled_only_child",
                "low_income", "low_income_kinds", "certificate_held", "children_ever", "living_children",
                "living_sons", "living_daughters", "youngest_child_birth_date")
# Every member's row from the household's record; the fact columns only when the facts are known, and a
# record merged into another belongs to no population (no facts date).
REFRESH_MEMBERS = text(
    "UPDATE person_facts SET is_parent = relation IN ('head', 'spouse'),"
    " is_child = coalesce(mother_id = ANY(CAST(:parents AS uuid[])), false)"
    " OR coalesce(father_id = ANY(CAST(:parents AS uuid[])), false),"
    " mother_birth_date = :mother_birth, mother_death_date = :mother_death,"
    " father_birth_date = :father_birth, father_death_date = :father_death, updated_at = now(),"
    " division_code = CASE WHEN CAST(:set_places AS boolean) THEN :division ELSE division_code END,"
    " residence_division_code = CASE WHEN CAST(:set_places AS boolean) THEN :residence"
    " ELSE residence_division_code END,"
    " household_facts_as_of = CASE WHEN merged_into IS NOT NULL THEN NULL ELSE CAST(:facts_as_of AS date) END,"
    " hukou_type = :hukou, "
    + ", ".join(f"{c} = CASE WHEN CAST(:has_facts AS boolean) THEN :{c} ELSE {c} END" for c in FACT_COLUMNS)
    + " WHERE household_id = :hid"
)


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
    await session.execute(LOCK, {"key": f"entitlements.household:{household_id}"})


async def apply_person_event(session: AsyncSession, event_type: str, data: dict[str, Any],
                             event_time: datetime) -> Applied:
    person_id = _uuid(data["person_id"])
    household_id = _uuid(data["household_id"])
    assert person_id is not None and household_id is not None
    stored = (await session.execute(STORED_PERSON, {"pid": person_id})).first()
    households = sorted({household_id} | ({stored.household_id} if stored else set()))
    for hid in households:
        await lock_household(session, hid)
    stored = (await session.execute(STORED_PERSON_LOCKED, {"pid": person_id})).first()
    if stored is not None and stored.person_event_at is not None and event_time < stored.person_event_at:
        return Applied(())  # an older event delivered late
    index = data.get("id_number_index")
    if index and not data.get("merged_into"):  # a merged duplicate may have held it: the newest holder keeps it
        await session.execute(CLEAR_INDEX, {"index": index, "pid": person_id})
    merged_into = _uuid(data.get("merged_into"))  # a duplicate merged away: its identifiers went to the kept one
    set_grade = event_type == PERSON_DISABILITY_CHANGED and "grade" in data
    effective = _date(data.get("effective_date"))
    await session.execute(UPSERT_PERSON, {
        "pid": person_id, "hid": household_id, "division": data["division_code"],
        "residence": data.get("residence_division_code"), "index": None if merged_into else index,
        "sex": data["sex"], "birth": _date(data["birth_date"]), "death": _date(data.get("death_date")),
        "relation": data["relation"], "mother": _uuid(data.get("mother_id")), "father": _uuid(data.get("father_id")),
        "at": event_time, "merged_into": merged_into, "set_merged": merged_into is not None,
        "grade": data.get("grade") if set_grade else None, "set_grade": set_grade, "effective": effective,
    })
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


async def refresh_household(session: AsyncSession, household_id: uuid.UUID) -> None:
    """Copy the household's facts and places onto its members' rows (see the module docstring)."""
    household = (await session.execute(HOUSEHOLD_RECORD, {"hid": household_id})).first()
    members = (await session.execute(MEMBERS, {"hid": household_id})).all()
    if not members:
        return
    facts: dict[str, Any] | None = household.facts if household is not None else None
    if facts is not None:
        parents = [(_uuid(p["person_id"]), p.get("sex")) for p in facts.get("parents") or []]
    else:
        parents = [(m.person_id, m.sex) for m in members if m.relation in ("head", "spouse")]
    parent_ids = [pid for pid, _ in parents if pid is not None]
    dates = {m.person_id: m for m in members if m.person_id in parent_ids}
    elsewhere = [pid for pid in parent_ids if pid not in dates]
    if elsewhere:
        dates |= {r.person_id: r for r in (await session.execute(PARENT_DATES, {"ids": elsewhere})).all()}
    mother = next((dates.get(pid) for pid, sex in parents if sex == "female" and pid in dates), None)
    father = next((dates.get(pid) for pid, sex in parents if sex == "male" and pid in dates), None)
    hukou = (household.hukou_type if household else None) or ""
    places = household is not None and bool(household.division_code)
    values: dict[str, Any] = {
        "hid": household_id, "parents": parent_ids,
        "mother_birth": mother.birth_date if mother else None, "mother_death": mother.death_date if mother else None,
        "father_birth": father.birth_date if father else None, "father_death": father.death_date if father else None,
        "set_places": places, "division": household.division_code if places else None,
        "residence": household.residence_division_code if places else None,
        "has_facts": facts is not None, "facts_as_of": None, "hukou": hukou,
    } | dict.fromkeys(FACT_COLUMNS)
    if facts is not None:
        values |= {
            "facts_as_of": _date(facts.get("as_of")) or date.today(),
            "hukou": facts.get("hukou_type") or hukou,
            "migrant": bool(facts.get("migrant")),
            "only_child": bool(facts.get("only_child")),
            "single_daughter": bool(facts.get("single_daughter")),
            "two_daughters": bool(facts.get("two_daughters")),
            "bereaved": bool(facts.get("bereaved")),
            "disabled_only_child": bool(facts.get("disabled_only_child")),
            "low_income": bool(facts.get("low_income")),
            "low_income_kinds": [str(k) for k in facts.get("low_income_kinds") or []],
            "certificate_held": bool(facts.get("certificate_held")),
            "children_ever": int(facts.get("children_ever") or 0),
            "living_children": int(facts.get("living_children") or 0),
            "living_sons": int(facts.get("living_sons") or 0),
            "living_daughters": int(facts.get("living_daughters") or 0),
            "youngest_child_birth_date": _date(facts.get("youngest_child_birth_date")),
        }
    await session.execute(REFRESH_MEMBERS, values)
