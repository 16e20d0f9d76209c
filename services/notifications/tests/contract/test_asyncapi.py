"""The committed AsyncAPI document equals what the catalogue generates (`python -m notifications.catalogue`)."""

from pathlib import Path

import yaml

from notifications.catalogue import asyncapi_document, asyncapi_yaml, event_types

DOC = Path(__file__).resolve().parents[4] / "docs" / "asyncapi.yaml"


def test_committed_asyncapi_matches_the_catalogue() -> None:
    assert DOC.read_text(encoding="utf-8") == asyncapi_yaml(), (
        "docs/asyncapi.yaml drifted: run `uv run python -m notifications.catalogue`"
    )


def test_asyncapi_has_one_channel_per_event_type() -> None:
    doc = yaml.safe_load(DOC.read_text(encoding="utf-8"))
    assert doc["asyncapi"].startswith("3.")
    assert {c["address"] for c in doc["channels"].values()} == set(event_types())
    assert doc == asyncapi_document()
