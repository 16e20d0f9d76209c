"""Helpers for the deployment tests (conftest.py puts this folder on sys.path): render Kustomize
overlays, read the settings classes' environment variable names.

Overlays are rendered with `kubectl kustomize` when kubectl is on PATH; otherwise with a small
renderer that understands what deploy/k8s uses (resources, components, namespace, configMapGenerator
with merge, images, JSON 6902 patches with targets, strategic-merge patch files). Both are exercised
where kubectl exists (test_fallback_renderer_matches_kubectl).
"""

import copy
import importlib
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from pydantic import AliasChoices

from carekit.devstack.catalogue import SERVICES

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = ("dev", "prod")
SERVICE_NAMES = [s.name for s in SERVICES]
# Read by the kit outside the settings classes (carekit/paths.py, carekit/events/stream_config.py).
KIT_ENV = {"GUANHUAI_DATA_DIR", "GUANHUAI_STREAMS_CONFIG"}

Manifest = dict


def kubectl_render(path: Path) -> list[Manifest]:
    out = subprocess.run(["kubectl", "kustomize", str(path)], check=True, capture_output=True, text=True).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


# ---- fallback renderer ----------------------------------------------------------------------------
def _load_docs(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _merge(base: object, patch: object) -> object:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(patch)


def _json_patch(doc: Manifest, ops: list[dict]) -> None:
    for op in ops:
        *parents, last = [int(p) if p.isdigit() else p for p in op["path"].strip("/").split("/")]
        node = doc
        for part in parents:
            node = node[part]
        if op["op"] in ("replace", "add"):
            node[last] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            del node[last]


def _matches(doc: Manifest, target: dict) -> bool:
    if "kind" in target and doc["kind"] != target["kind"]:
        return False
    if "group" in target and not doc["apiVersion"].startswith(target["group"] + "/"):
        return False
    if "name" in target and doc["metadata"]["name"] != target["name"]:
        return False
    if "labelSelector" in target:
        labels = doc["metadata"].get("labels", {})
        for term in target["labelSelector"].split(","):
            key, _, value = term.partition("=")
            if labels.get(key) != value:
                return False
    return True


def fallback_render(path: Path, inherited: list[Manifest] | None = None) -> list[Manifest]:
    """A Kustomization renders its resources; a Component (given `inherited`) edits its parent's."""
    kustomization = yaml.safe_load((path / "kustomization.yaml").read_text(encoding="utf-8"))
    docs: list[Manifest] = inherited if inherited is not None else []
    for entry in kustomization.get("resources", []):
        target = path / entry
        docs += fallback_render(target) if target.is_dir() else _load_docs(target)
    for entry in kustomization.get("components", []):
        docs = fallback_render(path / entry, docs)
    for generator in kustomization.get("configMapGenerator", []):
        data = dict(item.split("=", 1) for item in generator.get("literals", []))
        existing = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == generator["name"]]
        if generator.get("behavior") == "merge":
            existing[0]["data"].update(data)
        else:
            docs.append(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data}
            )
    for patch in kustomization.get("patches", []):
        if "path" in patch:
            for smp in _load_docs(path / patch["path"]):
                for i, doc in enumerate(docs):
                    if doc["kind"] == smp["kind"] and doc["metadata"]["name"] == smp["metadata"]["name"]:
                        docs[i] = _merge(doc, smp)
        else:
            for doc in docs:
                if _matches(doc, patch.get("target", {})):
                    _json_patch(doc, yaml.safe_load(patch["patch"]))
    for image in kustomization.get("images", []):
        for doc in docs:
            for container in _containers(doc):
                if container["image"].split(":")[0] == image["name"]:
                    container["image"] = f"{image['name']}:{image['newTag']}"
    if "namespace" in kustomization:
        for doc in docs:
            doc["metadata"]["namespace"] = kustomization["namespace"]
    return docs


def _containers(doc: Manifest) -> list[dict]:
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    return spec.get("containers", [])


def render(path: Path) -> list[Manifest]:
    return kubectl_render(path) if shutil.which("kubectl") else fallback_render(path)


def of_kind(docs: list[Manifest], kind: str) -> list[Manifest]:
    return [d for d in docs if d["kind"] == kind]


def named(docs: list[Manifest], kind: str, name: str) -> Manifest:
    found = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    assert found, f"no {kind} {name}"
    return found[0]


def config_map(docs: list[Manifest], name: str) -> Manifest:
    """A generated ConfigMap, whatever hash suffix kustomize gave it."""
    found = [d for d in of_kind(docs, "ConfigMap") if re.sub(r"-[a-z0-9]{10}$", "", d["metadata"]["name"]) == name]
    assert len(found) == 1, f"ConfigMap {name}: {[d['metadata']['name'] for d in found]}"
    return found[0]


# ---- settings ---------------------------------------------------------------------------------------
def settings_class(module: str) -> type:
    mod = importlib.import_module(module)
    return next(
        v
        for k, v in vars(mod).items()
        if k.endswith("Settings")
        and isinstance(v, type)
        and v.__module__ == mod.__name__
        and hasattr(v, "model_fields")
    )


def env_names(settings_cls: type) -> set[str]:
    """The environment variable names a pydantic-settings class reads (prefix + field, or its aliases)."""
    prefix = settings_cls.model_config.get("env_prefix", "")
    names = set()
    for name, field in settings_cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice.upper() for choice in alias.choices if isinstance(choice, str)}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def service_env_names(service: str) -> set[str]:
    return env_names(settings_class(f"{service}.settings")) | KIT_ENV


def secret_env_names(service: str) -> set[str]:
    """The variables of a service's settings that hold secrets (typed SecretStr)."""
    cls = settings_class(f"{service}.settings")
    prefix = cls.model_config.get("env_prefix", "")
    names = set()
    for name, field in cls.model_fields.items():
        if "SecretStr" in str(field.annotation):
            alias = field.validation_alias
            names |= (
                {c.upper() for c in alias.choices} if isinstance(alias, AliasChoices) else {f"{prefix}{name}".upper()}
            )
    return names
