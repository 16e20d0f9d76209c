"""The relief's own Prometheus metrics (the kit's are in carekit.metrics)."""

from prometheus_client import Counter

CALLBACKS = Counter(
    "relief_provider_callbacks_total", "Provider status reports received by callback", ["provider", "outcome"]
)  # outcome: applied, ignored (duplicate/stale), unknown, rejected
