"""Household facts of households an import changed, recomputed from the stored rows in batches.

The same computation as `registry.service.facts.refresh_facts` (which an API write calls for one or
two households): the household's members (registered there, or with a life event there), their
children (by birth or adoption), all their life events, merged persons left out (as
`repository.household_bundle` does), folded by the domain functions as of today; stored and
announced only when they changed, and a stored row dropped when no head or spouse is left. Here the
rows of up to a few hundred households are loaded with a handful of indexed queries (id lists, so
that every query uses an index) instead of several queries per household.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from carekit.db.uow import UnitOfWork
from registry.db.tables import HouseholdFactsRecord, HouseholdRecord, LifeEventRecord, PersonRecord
from registry.domain.errors import FieldError
from registry.domain.facts import household_facts
from registry.domain.history import household_on_record, person_on_record
from registry.events.outgoing import HOUSEHOLD_FACTS_CHANGED, registry_event
from registry.service.facts import _without_date, facts_json
from registry.service.mapping import household_identity, life_event, person_identity

BATCH = 300


async def refresh_facts_of(uow: UnitOfWork, household_ids: Iterable[uuid.UUID], today: date) -> int:
    """Recompute today's facts of these households; returns how many changed (stored and announced)."""
    ordered = sorted(set(household_ids))
    changed = 0
    for start in range(0, len(ordered), BATCH):
        changed += await _refresh_batch(uow, ordered[start:start + BATCH], today)
    return changed


async def _refresh_batch(uow: UnitOfWork, batch: list[uuid.UUID], today: date) -> int:
    session = uow.session
    households = {h.id: h for h in (await session.execute(
        select(HouseholdRecord).where(HouseholdRecord.id.in_(batch)))).scalars()}
    persons: dict[uuid.UUID, PersonRecord] = {p.id: p for p in (await session.execute(select(PersonRecord).where(
        PersonRecord.household_id.in_(batch), PersonRecord.merged_into.is_(None)))).scalars()}
    household_events = list((await session.execute(
        select(LifeEventRecord).where(LifeEventRecord.household_id.in_(batch)))).scalars())
    members: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for person in persons.values():
        members[person.household_id].add(person.id)
    for event in household_events:
        if event.person_id is not None:
            members[event.household_id].add(event.person_id)
    await _load_persons(session, persons, {pid for ids in members.values() for pid in ids})
    for ids in members.values():
        ids &= set(persons)  # merged persons are nobody's members any more
    everyone = sorted({pid for ids in members.values() for pid in ids})
    children: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)  # parent id -> child ids
    if everyone:
        for column in (PersonRecord.mother_id, PersonRecord.father_id):
            for child in (await session.execute(select(PersonRecord).where(
                    column.in_(everyone), PersonRecord.merged_into.is_(None)))).scalars():
                persons.setdefault(child.id, child)
                children[getattr(child, column.key)].add(child.id)
        adoptions = (await session.execute(select(LifeEventRecord.person_id, LifeEventRecord.payload).where(
            LifeEventRecord.kind == "adopted",
            LifeEventRecord.payload["parent_id"].astext.in_([str(pid) for pid in everyone])))).all()
        await _load_persons(session, persons, {child_id for child_id, _ in adoptions})
        for child_id, payload in adoptions:
            if child_id in persons:
                children[uuid.UUID(payload["parent_id"])].add(child_id)
    involved = set(persons)
    events_by_id = {e.id: e for e in household_events}
    if involved:
        for event in (await session.execute(select(LifeEventRecord).where(
                LifeEventRecord.person_id.in_(sorted(involved))))).scalars():
            events_by_id.setdefault(event.id, event)
    person_events: dict[uuid.UUID, list[LifeEventRecord]] = defaultdict(list)
    for event in events_by_id.values():
        if event.person_id is not None:
            person_events[event.person_id].append(event)
    stored = {f.household_id: f for f in (await session.execute(
        select(HouseholdFactsRecord).where(HouseholdFactsRecord.household_id.in_(batch)))).scalars()}

    changed = 0
    for household_id in batch:
        record = households.get(household_id)
        if record is None:
            continue
        ids = set(members[household_id])
        for parent_id in list(ids):
            ids |= children.get(parent_id, set())
        bundle_persons = sorted((persons[pid] for pid in ids if pid in persons), key=_parent_order)
        events = [e for pid in ids for e in person_events.get(pid, ())]
        events += [e for e in household_events if e.household_id == household_id and e.person_id not in ids]
        events.sort(key=lambda e: (e.effective_date, e.seq or 0))
        new = _facts(record, bundle_persons, events, today)
        old = stored.get(household_id)
        if new is None:  # no head or spouse: no family to describe (refresh_facts drops a stale row too)
            if old is not None:
                await session.execute(delete(HouseholdFactsRecord).where(
                    HouseholdFactsRecord.household_id == household_id))
            continue
        if old is not None and _without_date(old.facts) == _without_date(new):
            continue
        await session.execute(pg_insert(HouseholdFactsRecord).values(
            household_id=household_id, division_code=record.division_code, as_of=today, facts=new,
        ).on_conflict_do_update(index_elements=["household_id"],
                                set_={"facts": new, "as_of": today, "division_code": record.division_code}))
        uow.emit(registry_event(HOUSEHOLD_FACTS_CHANGED, str(household_id), {
            "household_id": str(household_id), "division_code": record.division_code,
            "residence_division_code": record.residence_division_code, "facts": new,
        }))
        changed += 1
    return changed


def _parent_order(person: PersonRecord) -> tuple:
    """Head before spouse (the facts list the parents in this order), then by registration."""
    return ({"head": 0, "spouse": 1}.get(person.relation, 2), person.created_at, str(person.id))


def _facts(record: HouseholdRecord, persons: list[PersonRecord], records: list[LifeEventRecord],
           today: date) -> dict | None:
    """`registry.service.facts.facts_of` on rows already loaded."""
    events = [life_event(e) for e in records]
    identities = [person_identity(p) for p in persons]
    household = household_on_record(household_identity(record), events, identities, today)
    if not household.parent_ids:
        return None
    try:
        return facts_json(household_facts(household, [person_on_record(i, events) for i in identities], today))
    except FieldError:
        return None


async def _load_persons(session, persons: dict[uuid.UUID, PersonRecord], wanted: set[uuid.UUID]) -> None:  # noqa: ANN001
    missing = sorted(wanted - set(persons))
    if missing:
        for person in (await session.execute(select(PersonRecord).where(
                PersonRecord.id.in_(missing), PersonRecord.merged_into.is_(None)))).scalars():
            persons[person.id] = person
