"""The platform's processes: the four services and the simulators of the outside world."""

import importlib
from dataclasses import dataclass
from typing import Any


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


def service_app(name: str, **settings: Any) -> Any:  # noqa: ANN401 - a FastAPI app
    """A service's app built from its settings class, by name: how the platform's tools (the CLI, tests
    that need a real sibling service as infrastructure) start a service without importing its package,
    which services never do of each other."""
    main = importlib.import_module(f"{name}.main")
    return main.create_app(settings_class(name)(**settings))


def settings_class(name: str) -> Any:  # noqa: ANN401 - the service's ServiceSettings subclass
    module = importlib.import_module(f"{name}.settings")
    return next(v for k, v in vars(module).items() if k.endswith("Settings") and k != "ServiceSettings")
