"""Every Kustomize overlay renders, and what it renders is fit to run: probes, resources, non-root,
a PodDisruptionBudget, autoscaler, Service and migration Job per service, one CloudNativePG cluster
per service, no committed secrets, and only environment variables the services actually read."""

import json
import re
import shutil

import pytest
from deploy_helpers import (
    K8S,
    OVERLAYS,
    SERVICE_NAMES,
    config_map,
    fallback_render,
    kubectl_render,
    named,
    of_kind,
    secret_env_names,
    service_env_names,
)

from carekit.events.stream_config import load_streams_config

PLATFORM_ENV = {"NATS_URL", "BLIND_INDEX_KEY", "GUANHUAI_DATA_DIR", "GUANHUAI_STREAMS_CONFIG"}


def pod_spec(doc: dict) -> dict:
    return doc["spec"]["template"]["spec"]


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_probes_resources_and_runs_hardened(rendered, overlay: str) -> None:
    deployments = of_kind(rendered(overlay), "Deployment")
    assert {d["metadata"]["name"] for d in deployments} >= set(SERVICE_NAMES)
    for deployment in deployments:
        spec = pod_spec(deployment)
        name = deployment["metadata"]["name"]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec.get("automountServiceAccountToken") is False, name
        for container in spec["containers"]:
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
            assert container["readinessProbe"]["httpGet"]["path"] in ("/readyz", "/healthz"), name
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), (name, kind)
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True and security["runAsNonRoot"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp, f"{name}: /tmp must be a writable volume under a read-only root"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_has_pdb_hpa_service_and_spreads_over_nodes(rendered, overlay: str) -> None:
    docs = rendered(overlay)
    for service in SERVICE_NAMES:
        deployment = named(docs, "Deployment", service)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/readyz"
        pdbs = [p for p in of_kind(docs, "PodDisruptionBudget") if selects(p["spec"]["selector"], labels)]
        assert len(pdbs) == 1, f"{service}: one PodDisruptionBudget, got {len(pdbs)}"
        hpa = named(docs, "HorizontalPodAutoscaler", service)
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service}
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        svc = named(docs, "Service", service)
        assert all(labels.get(k) == v for k, v in svc["spec"]["selector"].items())
        keys = {c["topologyKey"] for c in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]}
        assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_migration_job_per_service_runs_before_the_rollout(rendered, overlay: str) -> None:
    docs = rendered(overlay)
    for service in SERVICE_NAMES:
        job = named(docs, "Job", f"{service}-migrate")
        assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
        container = job["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["guanhuai", "migrate", service]
        image = named(docs, "Deployment", service)["spec"]["template"]["spec"]["containers"][0]["image"]
        assert container["image"] == image, "the Job migrates with the release it precedes"
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        db_url = next(e for e in container["env"] if e["name"] == f"{service.upper()}_DATABASE_URL")
        assert db_url["valueFrom"]["secretKeyRef"] == {"name": f"{service}-db-app", "key": "uri"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_cloudnativepg_cluster_per_service_feeds_its_database_url(rendered, overlay: str) -> None:
    docs = rendered(overlay)
    clusters = of_kind(docs, "Cluster")
    assert sorted(c["metadata"]["name"] for c in clusters) == sorted(f"{s}-db" for s in SERVICE_NAMES)
    for service in SERVICE_NAMES:
        cluster = named(docs, "Cluster", f"{service}-db")
        assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
        assert cluster["spec"]["bootstrap"]["initdb"] == {"database": service, "owner": service}
        env = pod_spec(named(docs, "Deployment", service))["containers"][0]["env"]
        url = next(e for e in env if e["name"] == f"{service.upper()}_DATABASE_URL")
        assert url["valueFrom"]["secretKeyRef"]["name"] == f"{service}-db-app"  # the secret CNPG writes


def test_prod_is_replicated_with_backups_and_r3_streams(rendered) -> None:
    docs = rendered("prod")
    stores = {s["metadata"]["name"] for s in of_kind(docs, "ObjectStore")}
    for service in SERVICE_NAMES:
        assert named(docs, "Deployment", service)["spec"]["replicas"] == 3
        assert named(docs, "HorizontalPodAutoscaler", service)["spec"]["minReplicas"] >= 3
        cluster = named(docs, "Cluster", f"{service}-db")["spec"]
        assert cluster["instances"] == 3
        [plugin] = cluster["plugins"]
        assert plugin["name"] == "barman-cloud.cloudnative-pg.io" and plugin["isWALArchiver"] is True
        assert plugin["parameters"]["barmanObjectName"] in stores
        backups = [b for b in of_kind(docs, "ScheduledBackup") if b["spec"]["cluster"]["name"] == f"{service}-db"]
        assert len(backups) == 1 and backups[0]["spec"]["method"] == "plugin"
        assert len(backups[0]["spec"]["schedule"].split()) == 6  # CNPG schedules carry seconds
        assert config_map(docs, f"{service}-config")["data"][f"{service.upper()}_ENVIRONMENT"] == "prod"
    profile = config_map(docs, "guanhuai-platform")["data"]["GUANHUAI_STREAMS_CONFIG"]
    assert profile == "prod" and load_streams_config(profile).defaults.replicas == 3


def test_dev_is_small_without_backups_and_with_the_simulators(rendered) -> None:
    docs = rendered("dev")
    assert not of_kind(docs, "ScheduledBackup") and not of_kind(docs, "ObjectStore")
    assert all(c["spec"]["instances"] == 1 for c in of_kind(docs, "Cluster"))
    assert {"payments-sim", "sms-sim"} <= {d["metadata"]["name"] for d in of_kind(docs, "Deployment")}
    assert config_map(docs, "guanhuai-platform")["data"]["GUANHUAI_STREAMS_CONFIG"] == "dev"
    relief = config_map(docs, "relief-config")["data"]
    assert relief["RELIEF_PAYMENT_PROVIDER_URL"] == "http://payments-sim:8101"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_is_committed_and_secret_settings_come_from_secrets(rendered, overlay: str) -> None:
    docs = rendered(overlay)
    assert not of_kind(docs, "Secret")
    in_config_maps = {key for cm in of_kind(docs, "ConfigMap") for key in cm.get("data", {})}
    for service in SERVICE_NAMES:
        secrets = secret_env_names(service)
        assert {"BLIND_INDEX_KEY", f"{service.upper()}_PII_KEYS", f"{service.upper()}_CURSOR_SECRET"} <= secrets
        assert not secrets & in_config_maps, f"{service}: secrets in a ConfigMap: {secrets & in_config_maps}"
        env = pod_spec(named(docs, "Deployment", service))["containers"][0]["env"]
        from_secrets = {e["name"] for e in env if "secretKeyRef" in e.get("valueFrom", {})}
        assert secrets <= from_secrets, f"{service}: {sorted(secrets - from_secrets)} not read from a Secret"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_environment_variable_is_one_the_service_reads(rendered, overlay: str) -> None:
    docs = rendered(overlay)
    platform = config_map(docs, "guanhuai-platform")["data"]
    assert set(platform) <= PLATFORM_ENV
    for service in SERVICE_NAMES:
        known = service_env_names(service)
        names = set(config_map(docs, f"{service}-config")["data"]) | set(platform)
        names |= {e["name"] for e in pod_spec(named(docs, "Deployment", service))["containers"][0]["env"]}
        assert names - known == set(), f"{service} does not read {sorted(names - known)}"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_fallback_renderer_matches_kubectl(overlay: str) -> None:
    def essentials(docs: list[dict]) -> list[tuple]:
        out = []
        for d in docs:
            name = d["metadata"]["name"]
            if d["kind"] == "ConfigMap":
                name = re.sub(r"-[a-z0-9]{10}$", "", name)  # kustomize's hash suffix
            spec = d.get("spec", {})
            out.append(
                (
                    d["kind"],
                    name,
                    d["metadata"].get("namespace"),
                    spec.get("replicas"),
                    spec.get("instances"),
                    spec.get("minReplicas"),
                    json.dumps(spec.get("plugins"), sort_keys=True),
                    sorted(d.get("data", {}).items()) if d["kind"] == "ConfigMap" else None,
                )
            )
        return sorted(out, key=str)

    path = K8S / "overlays" / overlay
    assert essentials(fallback_render(path)) == essentials(kubectl_render(path))


def test_dev_simulators_read_the_variables_they_are_given(rendered) -> None:
    from deploy_helpers import env_names, settings_class

    modules = {"payments-sim": "simulators.payments.settings", "sms-sim": "simulators.sms.settings"}
    docs = rendered("dev")
    for name, module in modules.items():
        env = {e["name"] for e in pod_spec(named(docs, "Deployment", name))["containers"][0].get("env", [])}
        assert env - env_names(settings_class(module)) == set(), name
