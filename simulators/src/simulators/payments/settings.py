"""Payment simulator settings. Env prefix SIM_PAY_; every fault field can be changed at run time
through `PUT /_sim/config`."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FaultConfig(BaseModel):
    seed: int = 0
    latency_ms: int = Field(0, ge=0, description="delay before every API answer")
    settle_delay_ms: int = Field(200, ge=0, description="accept → succeeded/failed")
    settle_jitter_ms: int = Field(0, ge=0)
    failure_rate: float = Field(0.0, ge=0, le=1, description="share of payments that end failed")
    return_rate: float = Field(0.0, ge=0, le=1, description="share of succeeded payments later returned")
    return_delay_ms: int = Field(500, ge=0)
    timeout_rate: float = Field(0.0, ge=0, le=1, description="submits accepted whose answer never comes")
    error_rate: float = Field(0.0, ge=0, le=1, description="submits refused whole with 503 (nothing booked)")
    hang_s: float = Field(60.0, ge=0, description="how long a 'timed out' submit holds the connection")
    duplicate_rate: float = Field(0.0, ge=0, le=1, description="payments whose final callback comes twice")
    out_of_order_rate: float = Field(0.0, ge=0, le=1, description="payments with a stale callback last")
    accepted_callbacks: bool = Field(False, description="also call back the 'accepted' state")
    callback_attempts: int = Field(8, ge=1)
    callback_concurrency: int = Field(16, ge=1)
    callback_batch_max: int = Field(1000, ge=1, le=5000)


class MerchantConfig(BaseModel):
    callback_url: str
    secret: str
    batch_callbacks: bool = False


class PaymentSimSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIM_PAY_", env_nested_delimiter="__")

    port: int = 8101
    faults: FaultConfig = FaultConfig()
    merchant_id: str = "guanhuai-relief"
    callback_url: str = "http://127.0.0.1:8003/v1/provider-callbacks/simulator"
    callback_secret: str = "dev-insecure-payment-callback-secret"  # relief's dev default
    batch_callbacks: bool = False

    def default_merchants(self) -> dict[str, MerchantConfig]:
        return {
            self.merchant_id: MerchantConfig(
                callback_url=self.callback_url, secret=self.callback_secret, batch_callbacks=self.batch_callbacks
            )
        }
