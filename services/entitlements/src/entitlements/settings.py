from pydantic_settings import SettingsConfigDict

from carekit.settings import ServiceSettings


class EntitlementsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ENTITLEMENTS_", extra="ignore")

    service_name: str = "entitlements"
    port: int = 8002
