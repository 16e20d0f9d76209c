"""`make run` points every service at its siblings and simulators on the ports they were given."""

from urllib.parse import urlsplit

import pytest

from carekit.devstack.catalogue import SERVICES, SIMULATORS, settings_class
from carekit.devstack.stack import wiring

MOVED = {spec.default_port: 20_000 + i for i, spec in enumerate((*SERVICES, *SIMULATORS))}


def local_url_settings() -> list[tuple[str, str, int]]:
    """(env name, default URL, default port) of every service setting that defaults to a platform process."""
    found = []
    for spec in SERVICES:
        for name, field in settings_class(spec.name).model_fields.items():
            default = field.default
            if isinstance(default, str) and default.startswith("http://127.0.0.1:"):
                port = urlsplit(default).port
                if port in MOVED:
                    found.append((f"{spec.env_prefix}{name.upper()}", default, port))
    return found


def test_some_settings_default_to_local_processes() -> None:
    names = {name for name, _, _ in local_url_settings()}
    assert {"RELIEF_REGISTRY_URL", "NOTIFICATIONS_REGISTRY_URL", "RELIEF_PAYMENT_PROVIDER_URL"} <= names


@pytest.mark.parametrize(("env_name", "default", "port"), local_url_settings())
def test_each_local_url_follows_the_port_given(
    monkeypatch: pytest.MonkeyPatch, env_name: str, default: str, port: int
) -> None:
    for spec in (*SERVICES, *SIMULATORS):
        monkeypatch.setenv(f"{spec.env_prefix}PORT", str(MOVED[spec.default_port]))
    monkeypatch.delenv(env_name, raising=False)
    to_services, _ = wiring()
    expected = default.replace(f":{port}", f":{MOVED[port]}", 1)
    assert to_services.get(env_name) == expected
