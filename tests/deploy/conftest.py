"""Fixtures for the deployment tests; the helpers live in deploy_helpers.py (put on sys.path here)."""

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

from deploy_helpers import DEPLOY, K8S, Manifest, render  # noqa: E402


@pytest.fixture(scope="session")
def rendered() -> Callable[[str], list[Manifest]]:
    cache: dict[str, list[Manifest]] = {}

    def get(overlay: str) -> list[Manifest]:
        if overlay not in cache:
            cache[overlay] = render(K8S / "overlays" / overlay)
        return cache[overlay]

    return get


@pytest.fixture(scope="session")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
