from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from carekit.settings import DEV_SECRET_PREFIX, ServiceSettings


class ReliefSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELIEF_", extra="ignore")

    service_name: str = "relief"
    port: int = 8003

    # Emergency relief: above this amount a second county approver must also approve.
    second_approval_above_fen: int = 500_000
    application_sla_hours: int = 72

    # The registry (C1): identifiers of payees, fetched in chunks with this service's token.
    registry_url: str = "http://127.0.0.1:8001"
    registry_chunk_size: int = 1000

    # Payment provider (C4): the HTTP provider against the payment simulator.
    payment_provider_url: str = "http://127.0.0.1:8101"
    payment_merchant_id: str = "guanhuai-relief"
    payment_callback_secret: SecretStr = SecretStr(DEV_SECRET_PREFIX + "payment-callback-secret")
    payment_timeout_seconds: float = 10.0
    # Payments claimed, looked up and submitted at once (≤ 5,000, the provider's batch limit; the
    # registry is asked ≤ 1,000 ids per call, concurrently), and how many such chunks are in flight.
    payment_submit_chunk: int = 2500
    payment_send_concurrency: int = 4
    # How often the sender looks for work and queries payments whose result has not come back.
    sender_poll_seconds: float = 1.0
    query_after_seconds: float = 5.0
