"""The notifications service's own Prometheus metrics (the kit's are in carekit.metrics)."""

from prometheus_client import Counter, Histogram

SMS_OUTCOMES = Counter("notifications_sms_outcomes_total", "Outcomes of send rounds per message", ["state"])
REJECTED_CALLBACKS = Counter(
    "notifications_rejected_callbacks_total",
    "Provider receipts or replies that matched no message",
    ["provider", "kind"],
)
PARKED_RECEIPTS = Counter(
    "notifications_parked_receipts_total",
    "Receipts that came before their message's provider id: parked, then applied or expired",
    ["provider", "outcome"],
)
INBOUND_REPLIES = Counter("notifications_inbound_replies_total", "Inbound SMS by meaning", ["kind"])
WEBHOOK_ATTEMPTS = Counter("notifications_webhook_attempts_total", "Webhook delivery attempts", ["outcome"])
WEBHOOK_LATENCY = Histogram("notifications_webhook_latency_seconds", "Partner endpoint response time")
