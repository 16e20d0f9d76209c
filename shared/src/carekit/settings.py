"""Service settings: pydantic-settings, one env prefix per service, validated at start-up.

A service subclasses `ServiceSettings` and sets `env_prefix` (e.g. ``REGISTRY_``) in its
`model_config`; `NATS_URL` is shared by all services and has no prefix.
"""

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_PREFIX = "dev-insecure-"
# An empty CURSOR_SECRET would make every HMAC-signed cursor forgeable.
MIN_SECRET_LENGTH = 16


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", env_nested_delimiter="__")

    service_name: str
    environment: Literal["dev", "test", "prod"] = "dev"
    database_url: str = Field(description="postgresql+asyncpg://user@host:port/db of this service's own database")
    nats_url: str = Field(
        default="nats://127.0.0.1:4222",
        validation_alias=AliasChoices("NATS_URL", "nats_url"),
    )
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str = ""
    log_level: str = "INFO"
    log_json: bool | None = None

    # Auth: tokens are verified with a PEM public key (file) or a JWKS URL.
    jwt_public_key_file: Path | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str = "guanhuai"
    jwt_audience: str = "guanhuai"
    jwt_leeway_seconds: int = 30
    # Private key this service signs its own service-to-service tokens with.
    service_signing_key_file: Path | None = None
    service_signing_key_id: str = "dev"

    # Events
    outbox_batch_size: int = 500
    outbox_lease_seconds: float = 30.0
    outbox_poll_seconds: float = 1.0
    consumer_max_deliveries: int = 5
    consumer_backoff_seconds: float = 1.0
    consumer_ack_wait_seconds: float = 30.0
    consumer_batch_size: int = 100
    stream_duplicate_window_seconds: float = 120.0
    stream_replicas: int = 1
    stream_max_age_seconds: float | None = None  # None: keep the event history

    # Housekeeping: how long idempotency keys and inbox rows are kept.
    idempotency_ttl_hours: float = 24.0
    inbox_retention_days: float = 30.0
    housekeeping_interval_seconds: float = 3600.0

    # PII at rest: "kid:<base64 32 bytes>,…" and the key id new values are sealed with. The blind-index
    # key is platform-wide (BLIND_INDEX_KEY) so services can match people by the published index.
    pii_keys: SecretStr | None = None
    pii_active_key: str = "dev"
    blind_index_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("BLIND_INDEX_KEY", "blind_index_key")
    )

    # Secret used to key cursors and other tamper-evident tokens.
    cursor_secret: SecretStr = SecretStr(DEV_SECRET_PREFIX + "cursor-secret")

    @model_validator(mode="after")
    def _refuse_dev_secrets_outside_dev(self) -> "ServiceSettings":
        if self.environment == "dev" or self.environment == "test":
            return self
        weak = [
            name
            for name, value in self
            if isinstance(value, SecretStr)
            and (value.get_secret_value().startswith(DEV_SECRET_PREFIX)
                 or len(value.get_secret_value()) < MIN_SECRET_LENGTH)
        ]
        if weak:
            raise ValueError(
                f"default development, empty or short (< {MIN_SECRET_LENGTH} characters) secrets are not "
                f"allowed in {self.environment}: {weak}"
            )
        if self.pii_keys is None or self.blind_index_key is None:
            raise ValueError(f"{self.environment} needs pii_keys and BLIND_INDEX_KEY")
        if not (self.jwt_public_key_file or self.jwt_jwks_url):
            raise ValueError(f"{self.environment} needs jwt_public_key_file or jwt_jwks_url")
        return self

    @property
    def stream_name(self) -> str:
        """The JetStream stream this service produces to."""
        return self.service_name.upper()
