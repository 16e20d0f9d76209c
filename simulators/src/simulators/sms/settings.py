"""SMS simulator settings. Env prefix SIM_SMS_; fault fields can be changed through `PUT /_sim/config`."""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

NOTIFICATIONS = "http://127.0.0.1:8004/v1/providers"


class SmsFaultConfig(BaseModel):
    seed: int = 0
    latency_ms: int = Field(0, ge=0, description="delay before every SendSms answer")
    failure_rate: float = Field(0.0, ge=0, le=1, description="share of numbers refused with a system error")
    undelivered_rate: float = Field(0.0, ge=0, le=1, description="share of accepted messages whose receipt fails")
    receipt_delay_ms: int = Field(200, ge=0)
    receipt_batch_max: int = Field(500, ge=1)
    aliyun_rate_limit: int = Field(0, ge=0, description="messages per second accepted; 0 = no limit")
    tencent_rate_limit: int = Field(0, ge=0, description="messages per second accepted; 0 = no limit")
    max_clock_skew_s: int = Field(900, ge=1)
    blocked_numbers: list[str] = Field(default_factory=list, description="E.164 numbers on the carriers' blacklist")


class SmsSimSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SIM_SMS_", env_nested_delimiter="__")

    port: int = 8102
    faults: SmsFaultConfig = SmsFaultConfig()
    aliyun_access_key_id: str = "dev-aliyun-key-id"
    aliyun_access_key_secret: str = "dev-aliyun-key-secret"
    aliyun_receipts_url: str = f"{NOTIFICATIONS}/aliyun/receipts"
    aliyun_inbound_url: str = f"{NOTIFICATIONS}/aliyun/inbound"
    tencent_secret_id: str = "AKIDdevtencentsecretid"
    tencent_secret_key: str = "dev-tencent-secret-key"
    tencent_sdk_app_id: str = "1400000001"
    tencent_receipts_url: str = f"{NOTIFICATIONS}/tencent/receipts"
    tencent_inbound_url: str = f"{NOTIFICATIONS}/tencent/inbound"
