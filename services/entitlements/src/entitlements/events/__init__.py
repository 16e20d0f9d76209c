"""Events the entitlements consumes (subscriptions) and publishes (see docs/ARCHITECTURE.md).

Consumed, from the registry's stream (`REGISTRY`): every person and household event, projected into
`person_facts` (`entitlements.service.projection`); each change re-evaluates the household for every
active policy (stored in the database, see `entitlements.service.policies`) and publishes
`entitlements.decision.granted` / `changed` / `revoked` (`entitlements.service.decisions`), in the same
transaction.
"""

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
    Applied,
    apply_household_event,
    apply_person_event,
)


@lru_cache(maxsize=1)
def library() -> tuple[CheckedPolicy, ...]:
    """The YAML policy library as shipped (evaluation reads the active versions from the database)."""
    return tuple(load_library())


def _reason(event: EventEnvelope) -> str:
    kind = event.data.get("kind")
    return f"{event.type}" + (f" ({kind})" if kind else "")


async def _decide(uow: UnitOfWork, event: EventEnvelope, applied: Applied) -> None:
    policies = await active_policies(uow.session)
    for household_id in applied.households:
        await decide_household(uow, household_id, policies, reason=_reason(event),
                               effective_date=applied.effective_date)


async def on_person_event(uow: UnitOfWork, event: EventEnvelope) -> None:
    applied = await apply_person_event(uow.session, event.type, event.data, event.time)
    await _decide(uow, event, applied)


async def on_household_event(uow: UnitOfWork, event: EventEnvelope) -> None:
    applied = await apply_household_event(uow.session, event.type, event.data, event.time)
    await _decide(uow, event, applied)


registry_facts = Subscription(
    name="registry-facts",
    stream="REGISTRY",
    handlers={**{t: on_person_event for t in PERSON_EVENTS}, **{t: on_household_event for t in HOUSEHOLD_EVENTS}},
)

subscriptions: list[Subscription] = [registry_facts]
