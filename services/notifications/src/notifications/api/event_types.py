"""The event catalogue: every event type of every service with its JSON Schema (for partners too)."""

from typing import Any

from fastapi import APIRouter

from carekit.http.problems import PROBLEM_RESPONSES, not_found
from notifications.api.deps import Reader
from notifications.catalogue import event_types

router = APIRouter(prefix="/v1/event-types", tags=["event-types"], responses=PROBLEM_RESPONSES)


def _public(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": e["type"],
        "producer": e["producer"],
        "stream": e["stream"],
        "summary": e["summary"],
        "schema": e["schema"],
    }


@router.get("", summary="Every event type with its JSON Schema")
async def list_event_types(_: Reader) -> list[dict[str, Any]]:
    return [_public(e) for e in event_types().values()]


@router.get("/{event_type}", summary="One event type with its JSON Schema")
async def get_event_type(event_type: str, _: Reader) -> dict[str, Any]:
    entry = event_types().get(event_type)
    if entry is None:
        raise not_found("event type", "事件类型")
    return _public(entry)
