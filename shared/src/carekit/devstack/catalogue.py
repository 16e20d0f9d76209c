"""The platform's processes: the four services (and, as they arrive, the provider simulators)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    default_port: int

    @property
    def env_prefix(self) -> str:
        return self.name.upper() + "_"

    @property
    def app_factory(self) -> str:
        return f"{self.name}.main:create_app"


SERVICES = (
    ServiceSpec("registry", 8001),
    ServiceSpec("entitlements", 8002),
    ServiceSpec("relief", 8003),
    ServiceSpec("notifications", 8004),
)
