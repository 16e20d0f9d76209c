from pydantic_settings import SettingsConfigDict

from carekit.settings import ServiceSettings


class ReliefSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RELIEF_", extra="ignore")

    service_name: str = "relief"
    port: int = 8003
