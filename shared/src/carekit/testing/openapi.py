"""OpenAPI snapshots: the committed `openapi.json` must equal what the app serves."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI


def render(app: FastAPI) -> str:
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def assert_openapi_matches(app: FastAPI, snapshot: Path) -> None:
    current = render(app)
    assert snapshot.exists(), f"{snapshot} is missing: run `make openapi` and commit it"
    committed = snapshot.read_text()
    assert current == committed, (
        f"{snapshot} is out of date with the app: run `make openapi`, review the diff and commit it"
    )


def write_snapshot(factory: Callable[..., FastAPI], settings: Any, snapshot: Path) -> None:
    snapshot.write_text(render(factory(settings)))
