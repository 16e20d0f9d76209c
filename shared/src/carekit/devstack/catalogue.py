"""The platform's processes: the four services and the simulators of the outside world."""

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


@dataclass(frozen=True)
class SimulatorSpec:
    """A simulator of a partner outside the platform (bank, SMS carriers), served from `simulators/`."""

    name: str
    default_port: int
    env_prefix: str  # its settings, e.g. SIM_PAY_PORT
    title: str

    @property
    def app_factory(self) -> str:
        return f"simulators.{self.name}.app:create_app"


SIMULATORS = (
    SimulatorSpec("payments", 8101, "SIM_PAY_", "payment provider"),
    SimulatorSpec("sms", 8102, "SIM_SMS_", "SMS gateway (Alibaba Cloud, Tencent Cloud)"),
)
