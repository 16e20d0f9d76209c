"""Prometheus metrics shared by every service (one process = one service)."""

from prometheus_client import Counter, Gauge, Histogram

REQUEST_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route",
    ["service", "method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox events acknowledged by JetStream", ["service"])
OUTBOX_PUBLISH_FAILURES = Counter("outbox_publish_failures_total", "Outbox publish attempts that failed", ["service"])
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Events waiting in the outbox", ["service"])
OUTBOX_OLDEST_AGE = Gauge("outbox_oldest_age_seconds", "Age of the oldest unpublished outbox event", ["service"])
EVENTS_HANDLED = Counter(
    "consumer_events_total", "Events taken by a consumer, by outcome", ["service", "consumer", "outcome"]
)
REDELIVERIES = Counter("consumer_redeliveries_total", "Deliveries after the first", ["service", "consumer"])
CONSUMER_LAG = Gauge("consumer_lag", "Messages not yet delivered to the durable consumer", ["service", "consumer"])
CONSUMER_ACK_PENDING = Gauge("consumer_ack_pending", "Messages delivered but not yet acknowledged", ["service", "consumer"])
DEAD_LETTERS = Counter("dead_letters_total", "Events moved to the dead-letter stream", ["service", "consumer"])
DEAD_LETTER_BACKLOG = Gauge("dead_letter_backlog", "Events waiting in the dead-letter stream", ["service"])
EVENT_LATENCY = Histogram(
    "event_end_to_end_seconds",
    "Time from an event's creation to its handler's commit",
    ["service", "consumer"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30),
)
