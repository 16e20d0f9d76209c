"""The committed OpenAPI snapshot must match the app (regenerate with `make openapi`)."""

from pathlib import Path

from carekit.testing.openapi import assert_openapi_matches
from registry.main import create_app
from registry.settings import RegistrySettings

SNAPSHOT = Path(__file__).resolve().parents[2] / "openapi.json"


def test_openapi_snapshot_matches_app() -> None:
    app = create_app(RegistrySettings(database_url="postgresql+asyncpg://unused@127.0.0.1:1/none"))
    assert_openapi_matches(app, SNAPSHOT)
