"""deploy/compose.yaml: every service with its database, NATS, its migration and the simulators; only
environment variables the containers read; images built from deploy/docker with matching arguments."""

import re

import pytest
from deploy_helpers import DEPLOY, SERVICE_NAMES, env_names, service_env_names, settings_class

INFRA = {"postgres", "nats"}
SIMULATORS = {"payments-sim": "simulators.payments.settings", "sms-sim": "simulators.sms.settings"}


def images_env() -> dict[str, dict[str, str]]:
    rows = {}
    for line in (DEPLOY / "docker" / "images.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            image, package, source, app, port = line.split()
            rows[image] = {"PACKAGE": package, "SOURCE_DIR": source, "APP": app, "PORT": port}
    return rows


def test_compose_has_every_service_migration_simulator_and_dependency(compose) -> None:
    services = compose["services"]
    expected = set(SERVICE_NAMES) | {f"migrate-{s}" for s in SERVICE_NAMES} | INFRA | set(SIMULATORS)
    assert set(services) == expected
    assert "-js" in services["nats"]["command"]
    for service in SERVICE_NAMES:
        depends = services[service]["depends_on"]
        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["nats"] == {"condition": "service_healthy"}
        assert depends[f"migrate-{service}"] == {"condition": "service_completed_successfully"}
        migrate = services[f"migrate-{service}"]
        assert migrate["command"] == ["guanhuai", "migrate", service]
        assert migrate["image"] == services[service]["image"], "the migration runs the service's own image"
        assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["relief"]["depends_on"]["payments-sim"]["condition"] == "service_healthy"
    assert services["notifications"]["depends_on"]["sms-sim"]["condition"] == "service_healthy"


def test_one_database_per_service_created_by_the_init_script(compose) -> None:
    services = compose["services"]
    script = (DEPLOY / "compose" / "postgres-init.sh").read_text()
    assert "for service in registry entitlements relief notifications" in script
    mounts = services["postgres"]["volumes"]
    assert any(m.startswith("./compose/postgres-init.sh:/docker-entrypoint-initdb.d/") for m in mounts)
    for service in SERVICE_NAMES:
        for container in (service, f"migrate-{service}"):
            url = services[container]["environment"][f"{service.upper()}_DATABASE_URL"]
            assert re.fullmatch(rf"postgresql\+asyncpg://{service}:[^@]+@postgres:5432/{service}", url), url


def test_service_containers_are_hardened_and_share_the_dev_keys(compose) -> None:
    for name in [*SERVICE_NAMES, *SIMULATORS]:
        container = compose["services"][name]
        assert container["read_only"] is True and container["tmpfs"] == ["/tmp"], name
        assert container["cap_drop"] == ["ALL"], name
    for service in SERVICE_NAMES:
        env = compose["services"][service]["environment"]
        assert env["NATS_URL"] == "nats://nats:4222" and env["GUANHUAI_STREAMS_CONFIG"] == "dev"
        assert f"dev-keys:{env['GUANHUAI_DATA_DIR']}/keys" in compose["services"][service]["volumes"]


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_service_variable_is_one_its_settings_read(compose, service: str) -> None:
    known = service_env_names(service)
    for container in (service, f"migrate-{service}"):
        names = set(compose["services"][container]["environment"])
        assert names - known == set(), f"{container}: {sorted(names - known)} are not settings of {service}"


@pytest.mark.parametrize("simulator", sorted(SIMULATORS))
def test_simulator_variables_are_ones_the_simulator_reads(compose, simulator: str) -> None:
    names = set(compose["services"][simulator].get("environment", {}))
    if names:
        known = env_names(settings_class(SIMULATORS[simulator]))
        assert names - known == set(), f"{simulator}: {sorted(names - known)}"


def test_relief_and_the_payment_simulator_agree_on_merchant_and_secret(compose) -> None:
    relief, sim = compose["services"]["relief"]["environment"], compose["services"]["payments-sim"]["environment"]
    assert relief["RELIEF_PAYMENT_MERCHANT_ID"] == sim["SIM_PAY_MERCHANT_ID"]
    assert relief["RELIEF_PAYMENT_CALLBACK_SECRET"] == sim["SIM_PAY_CALLBACK_SECRET"]
    assert sim["SIM_PAY_CALLBACK_URL"].startswith("http://relief:8003/")


def test_notifications_and_the_sms_simulator_agree_on_credentials_and_callbacks(compose) -> None:
    notifications = compose["services"]["notifications"]["environment"]
    sim = compose["services"]["sms-sim"]["environment"]
    for name in (
        "ALIYUN_ACCESS_KEY_ID",
        "ALIYUN_ACCESS_KEY_SECRET",
        "TENCENT_SECRET_ID",
        "TENCENT_SECRET_KEY",
        "TENCENT_SDK_APP_ID",
    ):
        assert notifications[f"NOTIFICATIONS_{name}"] == sim[f"SIM_SMS_{name}"], name
    for key in ("ALIYUN_RECEIPTS_URL", "ALIYUN_INBOUND_URL", "TENCENT_RECEIPTS_URL", "TENCENT_INBOUND_URL"):
        assert sim[f"SIM_SMS_{key}"].startswith("http://notifications:8004/v1/providers/"), key


def test_compose_builds_each_image_with_the_arguments_in_images_env(compose) -> None:
    rows = images_env()
    built = {name: c for name, c in compose["services"].items() if "build" in c}
    for container in built.values():
        image = container["image"].split("/")[1].split(":")[0]
        assert container["build"]["dockerfile"] == "deploy/docker/Dockerfile"
        assert container["build"]["args"] == rows[image], image
    assert {c["image"].split("/")[1].split(":")[0] for c in built.values()} == set(rows)
