"""The container build (deploy/docker) and the NATS chart values (deploy/k8s/nats) say what they must:
non-root, health-checked images of the right packages and apps; a 3-node JetStream cluster in prod
from the NATS project's own chart, big enough for the R3 streams the services declare."""

import importlib
import importlib.util
import tomllib

import pytest
import yaml
from deploy_helpers import DEPLOY, K8S, REPO

from carekit.devstack.catalogue import SERVICES
from carekit.events.stream_config import load_streams_config

DOCKERFILE = (DEPLOY / "docker" / "Dockerfile").read_text()


def images() -> list[dict[str, str]]:
    rows = []
    for line in (DEPLOY / "docker" / "images.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            image, package, source, app, port = line.split()
            rows.append({"image": image, "package": package, "source": source, "app": app, "port": port})
    return rows


def test_dockerfile_is_multi_stage_uv_non_root_and_health_checked() -> None:
    assert DOCKERFILE.count("\nFROM ") >= 3  # uv, build, runtime
    assert 'uv sync --frozen --no-dev --package "${PACKAGE}"' in DOCKERFILE
    assert "\nUSER 10001:10001" in DOCKERFILE
    assert "HEALTHCHECK" in DOCKERFILE and "/healthz" in DOCKERFILE
    assert 'uvicorn --factory \\"$GUANHUAI_APP\\"' in DOCKERFILE
    assert "GUANHUAI_DATA_DIR=/tmp/guanhuai" in DOCKERFILE  # the only writable path under a read-only root


@pytest.mark.parametrize("row", images(), ids=lambda r: r["image"])
def test_each_image_names_a_real_package_folder_and_app_factory(row: dict[str, str]) -> None:
    project = tomllib.loads((REPO / row["source"] / "pyproject.toml").read_text())["project"]
    assert project["name"] == row["package"]
    module, _, factory = row["app"].partition(":")
    assert importlib.util.find_spec(module) is not None, module
    assert callable(getattr(importlib.import_module(module), factory))
    if row["source"].startswith("services/"):
        service = row["source"].split("/")[1]
        assert (REPO / row["source"] / "alembic.ini").is_file()  # `guanhuai migrate` needs SERVICE_ROOT
        ports = {s.name: str(s.default_port) for s in SERVICES}
        assert row["port"] == ports[service]


def test_migrate_command_exists_in_the_cli() -> None:
    from typer.testing import CliRunner

    from carekit.cli import app

    result = CliRunner().invoke(app, ["migrate", "--help"])
    assert result.exit_code == 0 and "DATABASE_URL" in result.output


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_nats_comes_from_the_official_chart_pinned(env: str) -> None:
    kustomization = yaml.safe_load((K8S / "nats" / env / "kustomization.yaml").read_text())
    [chart] = kustomization["helmCharts"]
    assert chart["repo"] == "https://nats-io.github.io/k8s/helm/charts/" and chart["name"] == "nats"
    assert chart["version"].split(".")[0] == "1" and chart["valuesFile"] == "values.yaml"
    values = yaml.safe_load((K8S / "nats" / env / "values.yaml").read_text())
    assert values["config"]["jetstream"]["enabled"] is True
    assert values["config"]["jetstream"]["fileStore"]["pvc"]["size"]


def test_prod_nats_is_a_three_node_cluster_holding_r3_streams() -> None:
    values = yaml.safe_load((K8S / "nats" / "prod" / "values.yaml").read_text())
    cluster = values["config"]["cluster"]
    assert cluster["enabled"] is True and cluster["replicas"] == 3
    assert values["podDisruptionBudget"]["enabled"] is True
    assert "kubernetes.io/hostname" in values["podTemplate"]["topologySpreadConstraints"]
    streams = load_streams_config("prod")
    assert streams.defaults.replicas == 3 <= cluster["replicas"]
    dev = yaml.safe_load((K8S / "nats" / "dev" / "values.yaml").read_text())
    assert load_streams_config("dev").defaults.replicas == 1 and not dev["config"]["cluster"]["enabled"]


def test_alert_rules_use_only_metrics_the_code_exports() -> None:
    import re

    from deploy_helpers import K8S as k8s

    source = "\n".join(
        p.read_text() for p in [*REPO.glob("shared/src/carekit/**/*.py"), *REPO.glob("services/*/src/**/*.py")]
    )
    exported = set(re.findall(r'(?:Counter|Gauge|Histogram)\(\s*"([a-z_0-9]+)"', source))
    assert {"outbox_oldest_age_seconds", "consumer_lag", "dead_letter_backlog"} <= exported
    rules = yaml.safe_load((k8s / "monitoring" / "prometheus-rules.yaml").read_text())
    exprs = [rule["expr"] for group in rules["spec"]["groups"] for rule in group["rules"]]
    used = {name for expr in exprs for name in re.findall(r"\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b", expr)}
    used -= {"histogram_quantile"}
    base = {re.sub(r"_(bucket|count|sum)$", "", name) for name in used}
    assert base <= exported, f"not exported by any service: {sorted(base - exported)}"


def test_dependency_layer_mounts_every_workspace_member() -> None:
    members = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    manifests = sorted(
        str(path.relative_to(REPO)) for member in members for path in REPO.glob(f"{member}/pyproject.toml")
    )
    assert manifests, members
    for manifest in manifests:  # uv needs every member's manifest to resolve the workspace
        assert f"--mount=type=bind,source={manifest},target={manifest}" in DOCKERFILE, manifest
