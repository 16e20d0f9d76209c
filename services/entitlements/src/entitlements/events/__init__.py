"""Events the entitlements consumes (subscriptions) and publishes (see docs/ARCHITECTURE.md).

Consumed, from the registry's stream (`REGISTRY`): every person and household event, projected into
`person_facts` (`entitlements.service.projection`); each change re-evaluates the household for every
active policy (stored in the database, see `entitlements.service.policies`) and publishes
`entitlements.decision.granted` / `changed` / `revoked` (`entitlements.service.decisions`), in the same
transaction.
"""

import uuid
from datetime import date
from functools import lru_cache

from carekit.db.uow import UnitOfWork
from carekit.events.consumer import Subscription
from carekit.events.envelope import EventEnvelope
from entitlements.adapters.policy_library import load_library
from entitlements.domain.policy import CheckedPolicy
from entitlements.service.decisions import decide_household
from entitlements.service.policies import active_policies
from entitlements.service.projection import (
    HOUSEHOLD_EVENTS,
    PERSON_EVENTS,
    apply_household_event,
    apply_person_event,
    refresh_household,
)


@lru_cache(maxsize=1)
def library() -> tuple[CheckedPolicy, ...]:
    """The YAML policy library as shipped (evaluation reads the active versions from the database)."""
    return tuple(load_library())


def _reason(event: EventEnvelope) -> str:
    kind = event.data.get("kind")
    return f"{event.type}" + (f" ({kind})" if kind else "")


async def on_registry_events(uow: UnitOfWork, events: list[EventEnvelope]) -> None:
    """Project a batch of registry events in delivery order, then decide each household it touched once.

    A bulk import announces a household as several events (each person registered, the household, its
    facts); deciding after each would evaluate every policy for half-built families and publish
    decisions that the next event takes back. The decision uses the last event's reason and the
    latest effective date among the household's events."""
    touched: dict[uuid.UUID, tuple[EventEnvelope, date | None]] = {}
    for event in events:
        apply = apply_person_event if event.type in PERSON_EVENTS else apply_household_event
        applied = await apply(uow.session, event.type, event.data, event.time)
        for household_id in applied.households:
            earlier = touched.get(household_id, (event, None))[1]
            touched[household_id] = (event, _later(earlier, applied.effective_date))
    if not touched:
        return
    for household_id in touched:  # once per batch: a household's events only change its inputs
        await refresh_household(uow.session, household_id)
    policies = await active_policies(uow.session)
    for household_id, (event, effective) in touched.items():
        await decide_household(uow, household_id, policies, reason=_reason(event), effective_date=effective)


def _later(a: date | None, b: date | None) -> date | None:
    return max(a, b) if a is not None and b is not None else a or b


registry_facts = Subscription(
    name="registry-facts",
    stream="REGISTRY",
    subjects=sorted({*PERSON_EVENTS, *HOUSEHOLD_EVENTS}),
    ordered_batch_handler=on_registry_events,
)

subscriptions: list[Subscription] = [registry_facts]
