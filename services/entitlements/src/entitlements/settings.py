from pydantic_settings import SettingsConfigDict

from carekit.settings import ServiceSettings


class EntitlementsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ENTITLEMENTS_", extra="ignore")

    service_name: str = "entitlements"
    port: int = 8002
    # Cycles: evaluate county work items in the request (False) or through the JetStream work queue
    # (True), with this many workers in each process (see entitlements.events.cycle_work).
    cycle_queue: bool = False
    cycle_workers: int = 2
