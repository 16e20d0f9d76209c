"""Events the relief consumes (subscriptions) and publishes (`relief.events.outgoing`, contract C3).

Consumed from the entitlements' stream (`ENTITLEMENTS`):
- `entitlement-decisions`: `entitlements.decision.granted|changed|revoked` of a policy whose benefit
  kind is `priority_flag` (the relief-priority policy) set or clear the household's priority in
  `priority_households`; open applications of the household follow it.
- `cycle-approvals`: `entitlements.cycle.approved` chunks become payment lines of one batch per cycle
  (`relief.service.batches.take_cycle_chunk`), idempotent on (cycle_id, chunk) and on line_id.
"""

from carekit.db.uow import UnitOfWork
from carekit.events.consumer import Subscription
from carekit.events.envelope import EventEnvelope

PRIORITY_FLAG = "priority_flag"


async def on_decision(uow: UnitOfWork, event: EventEnvelope) -> None:
    data = event.data
    if data.get("benefit_kind") != PRIORITY_FLAG or not data.get("household_id"):
        return
    from relief.service.applications import set_priority  # the service layer imports events.outgoing

    flagged = event.type != "entitlements.decision.revoked" and bool(data.get("eligible", True))
    await set_priority(uow, data["household_id"], str(data.get("policy", "")), flagged, event.time)


entitlement_decisions = Subscription(
    name="entitlement-decisions",
    stream="ENTITLEMENTS",
    handlers={
        t: on_decision
        for t in ("entitlements.decision.granted", "entitlements.decision.changed", "entitlements.decision.revoked")
    },
)


async def on_cycle_approved(uow: UnitOfWork, event: EventEnvelope) -> None:
    from relief.service.batches import take_cycle_chunk

    await take_cycle_chunk(uow, event.data)


cycle_approvals = Subscription(
    name="cycle-approvals", stream="ENTITLEMENTS", handlers={"entitlements.cycle.approved": on_cycle_approved}
)

subscriptions: list[Subscription] = [entitlement_decisions, cycle_approvals]
