from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from carekit.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    service_name: str = "notifications"
    port: int = 8004

    # The registry answers phone numbers (contract C1) to this service's service token.
    registry_url: str = "http://127.0.0.1:8001"
    registry_timeout_seconds: float = 10.0

    # SMS providers (contract C5), in failover order.
    sms_providers: list[str] = ["aliyun", "tencent"]
    aliyun_url: str = "http://127.0.0.1:8102/aliyun"
    aliyun_access_key_id: str = "dev-aliyun-key-id"
    aliyun_access_key_secret: SecretStr = SecretStr("dev-aliyun-key-secret")  # the simulator's dev key
    tencent_url: str = "http://127.0.0.1:8102/tencent"
    tencent_secret_id: str = "AKIDdevtencentsecretid"
    tencent_secret_key: SecretStr = SecretStr("dev-tencent-secret-key")  # the simulator's dev key
    tencent_sdk_app_id: str = "1400000001"
    sms_rate_per_second: dict[str, float] = {"aliyun": 2000.0, "tencent": 2000.0}
    sms_timeout_seconds: float = 10.0
    # When set, provider callbacks must carry ?token=<this> (configure it in the callback URLs at the provider).
    provider_callback_token: SecretStr | None = None
    sms_concurrency: int = 16  # requests in flight per provider
    aliyun_batch_size: int = 1  # > 1: SendBatchSms (≤ 100); receipts then match on (BizId, phone)

    # The sender
    sender_enabled: bool = True
    sender_batch_size: int = 500
    sender_workers: int = 2  # rounds in flight at once (SKIP LOCKED keeps them apart)
    sender_poll_seconds: float = 1.0
    sender_lease_seconds: float = 60.0
    sender_max_attempts: int = 5
    sender_retry_base_seconds: float = 30.0
    sender_retry_max_seconds: float = 3600.0
    per_number_daily_cap: int = 50  # per template and phone number, per China calendar day
    message_ttl_hours: float = 72.0  # a queued message older than this expires instead of going out late
    quiet_hours_start: int = 21
    quiet_hours_end: int = 8
    # A decision notice waits this long for the other decisions of the same change to join it (see digests).
    decision_hold_seconds: float = 300.0
    survey_reply_days: int = 7  # a digit 1–5 counts for the latest survey sent in this window

    # Receipts that came before the sender recorded the provider's id wait (parked) for it this long,
    # matched again by a sweep every `parked_receipt_sweep_seconds`; then they are rejected.
    parked_receipt_max_age_hours: float = 24.0
    parked_receipt_sweep_seconds: float = 60.0
    parked_receipt_sweep_batch: int = 1000

    # Partner webhooks
    webhooks_enabled: bool = True
    webhook_batch_size: int = 200
    webhook_workers: int = 2
    webhook_concurrency: int = 32
    webhook_poll_seconds: float = 1.0
    webhook_timeout_seconds: float = 10.0
    webhook_schedule_scale: float = 1.0  # tests compress the Standard Webhooks schedule (e.g. 0.001)
    webhook_secret_overlap_hours: float = 24.0
    webhook_allowed_networks: list[str] = []  # e.g. ["127.0.0.1/32"] for local tests; empty in prod
