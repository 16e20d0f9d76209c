"""Events the notifications service consumes: entitlement decisions and relief payments/applications.

Each event queues the SMS its template mapping asks for (`domain/triggers.py`) and one webhook
delivery per matching partner subscription, in the inbox's transaction (so exactly once).
"""

from carekit.db.uow import UnitOfWork
from carekit.events.consumer import Subscription
from carekit.events.envelope import EventEnvelope
from notifications.domain.triggers import TEMPLATE_BY_EVENT
from notifications.service.messages import enqueue_for_events
from notifications.service.webhooks import fan_out

decision_events = Subscription(name="decision-events", stream="ENTITLEMENTS")
relief_events = Subscription(name="relief-events", stream="RELIEF")
RELIEF_ONLY_WEBHOOKS = ("relief.payment.held",)


async def on_events(uow: UnitOfWork, events: list[EventEnvelope]) -> None:
    """Every new event of one type in a fetched batch: one INSERT for the messages, one for the deliveries."""
    await enqueue_for_events(uow, events)
    await fan_out(uow, events)


async def on_event(uow: UnitOfWork, event: EventEnvelope) -> None:
    await on_events(uow, [event])


for _type in (*TEMPLATE_BY_EVENT, *RELIEF_ONLY_WEBHOOKS):
    subscription = decision_events if _type.startswith("entitlements.") else relief_events
    subscription.on(_type)(on_event)
    subscription.batch_handlers[_type] = on_events

subscriptions = [decision_events, relief_events]
