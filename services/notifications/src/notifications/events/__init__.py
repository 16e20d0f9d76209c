"""Events the notifications service consumes: entitlement decisions and relief payments/applications.

Each event queues the SMS its template mapping asks for (`domain/triggers.py`) and one webhook
delivery per matching partner subscription, in the inbox's transaction (so exactly once).
"""

from datetime import timedelta

from carekit.db.uow import UnitOfWork
from carekit.events.consumer import Subscription
from carekit.events.envelope import EventEnvelope
from notifications.domain.triggers import TEMPLATE_BY_EVENT
from notifications.service.messages import enqueue_for_events
from notifications.service.webhooks import fan_out

RELIEF_ONLY_WEBHOOKS = ("relief.payment.held",)


def subscriptions_for(decision_hold: timedelta) -> list[Subscription]:
    """The two durable consumers of one app; their decision notices wait `decision_hold` (settings)."""
    decision_events = Subscription(name="decision-events", stream="ENTITLEMENTS")
    relief_events = Subscription(name="relief-events", stream="RELIEF")

    async def on_events(uow: UnitOfWork, events: list[EventEnvelope]) -> None:
        """Every new event of one type in a fetched batch: one INSERT for the messages, one for the deliveries."""
        await enqueue_for_events(uow, events, decision_hold)
        await fan_out(uow, events)

    async def on_event(uow: UnitOfWork, event: EventEnvelope) -> None:
        await on_events(uow, [event])

    for event_type in (*TEMPLATE_BY_EVENT, *RELIEF_ONLY_WEBHOOKS):
        subscription = decision_events if event_type.startswith("entitlements.") else relief_events
        subscription.on(event_type)(on_event)
        subscription.batch_handlers[event_type] = on_events
    return [decision_events, relief_events]
