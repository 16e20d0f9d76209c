"""Household facts: computed from the life-event history, and kept current in `household_facts`."""

import dataclasses
import uuid
from datetime import date
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from carekit.db.uow import UnitOfWork
from registry.db import repository
from registry.db.tables import HouseholdFactsRecord, HouseholdRecord
from registry.domain.errors import FieldError
from registry.domain.facts import HouseholdFacts, household_facts
from registry.domain.history import household_on_record, person_on_record
from registry.events.outgoing import HOUSEHOLD_FACTS_CHANGED, registry_event
from registry.service.mapping import household_identity, life_event, person_identity


async def facts_of(session: AsyncSession, household_id: uuid.UUID, as_of: date) -> HouseholdFacts | None:
    bundle = await repository.household_bundle(session, household_id)
    if bundle is None:
        return None
    events = [life_event(e) for e in bundle.events]
    identities = [person_identity(p) for p in bundle.persons]
    household = household_on_record(household_identity(bundle.household), events, identities, as_of)
    if not household.parent_ids:
        return None  # nobody registered as head or spouse on that day: no family to describe
    persons = [person_on_record(identity, events) for identity in identities]
    try:
        return household_facts(household, persons, as_of)
    except FieldError:
        return None


def facts_json(facts: HouseholdFacts) -> dict[str, Any]:
    return to_jsonable_python(dataclasses.asdict(facts))


async def refresh_facts(uow: UnitOfWork, household_ids: set[uuid.UUID], today: date) -> None:
    """Recompute today's facts; store and announce them where they changed.

    The households are locked first (in id order, so two writers never deadlock): two events recorded
    at the same moment for one household would otherwise each compute facts without the other's event,
    and the last to commit would store facts missing the first (a death lost behind a certificate).
    NO KEY UPDATE, because the event rows just inserted already hold KEY SHARE locks on their household
    (foreign key): FOR UPDATE would conflict with the other writer's KEY SHARE and deadlock."""
    if not household_ids:
        return
    await uow.session.execute(select(HouseholdRecord.id).where(HouseholdRecord.id.in_(household_ids))
                              .order_by(HouseholdRecord.id).with_for_update(key_share=True))  # FOR NO KEY UPDATE
    for household_id in sorted(household_ids):
        facts = await facts_of(uow.session, household_id, today)
        if facts is None:  # no head or spouse any more: no family to describe, nothing to count
            await uow.session.execute(delete(HouseholdFactsRecord).where(
                HouseholdFactsRecord.household_id == household_id))
            continue
        record = await repository.household(uow.session, household_id)
        new = facts_json(facts)
        stored = await uow.session.get(HouseholdFactsRecord, household_id)
        if stored is not None and _without_date(stored.facts) == _without_date(new):
            continue
        await uow.session.execute(pg_insert(HouseholdFactsRecord).values(
            household_id=household_id, division_code=record.division_code, as_of=today, facts=new,
        ).on_conflict_do_update(index_elements=["household_id"],
                                set_={"facts": new, "as_of": today, "division_code": record.division_code}))
        uow.emit(registry_event(HOUSEHOLD_FACTS_CHANGED, str(household_id), {
            "household_id": str(household_id),
            "division_code": record.division_code,
            "residence_division_code": record.residence_division_code,
            "facts": new,
        }))


def _without_date(facts: dict[str, Any]) -> dict[str, Any]:
    # Ages move with the calendar; only a change in the household itself is news.
    return {k: v for k, v in facts.items() if k not in ("as_of", "parents")} | {
        "parents": [{k: v for k, v in p.items() if k != "age"} for p in facts.get("parents", [])]
    }
