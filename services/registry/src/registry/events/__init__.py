"""Events the registry consumes (subscriptions) and publishes (see docs/ARCHITECTURE.md)."""

from carekit.events.consumer import Subscription

subscriptions: list[Subscription] = []
