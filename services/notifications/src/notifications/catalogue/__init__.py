"""The event catalogue: one JSON Schema per event of every service, kept as data files in `schemas/`.

`asyncapi_document()` turns it into the AsyncAPI 3 document committed at `docs/asyncapi.yaml`
(`python -m notifications.catalogue` rewrites it; a test fails when it drifts).
"""

import json
from functools import lru_cache
from importlib import resources
from typing import Any

ENVELOPE = {
    "type": "object",
    "description": "CloudEvents 1.0, structured JSON mode",
    "required": ["specversion", "id", "type", "source", "time", "datacontenttype", "data"],
    "properties": {
        "specversion": {"const": "1.0"},
        "id": {"type": "string", "format": "uuid"},
        "type": {"type": "string"},
        "source": {"type": "string"},
        "subject": {"type": "string"},
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": {"const": "application/json"},
        "traceparent": {"type": "string"},
    },
}


@lru_cache(maxsize=1)
def event_types() -> dict[str, dict[str, Any]]:
    folder = resources.files("notifications.catalogue") / "schemas"
    entries = [json.loads(f.read_text(encoding="utf-8")) for f in folder.iterdir() if f.name.endswith(".json")]
    return {e["type"]: e for e in sorted(entries, key=lambda e: e["type"])}


def _key(event_type: str) -> str:
    return event_type.replace(".", "_")


def asyncapi_document() -> dict[str, Any]:
    catalogue = event_types()
    channels, operations, messages, schemas = {}, {}, {}, {}
    for t, e in catalogue.items():
        key = _key(t)
        data_schema = {k: v for k, v in e["schema"].items() if k not in ("$schema", "title")}
        schemas[key] = {
            "allOf": [
                {"$ref": "#/components/schemas/CloudEvent"},
                {"type": "object", "properties": {"type": {"const": t}, "data": data_schema}},
            ]
        }
        messages[key] = {
            "name": t,
            "title": t,
            "summary": e["summary"],
            "contentType": "application/cloudevents+json",
            "payload": {"$ref": f"#/components/schemas/{key}"},
        }
        channels[key] = {
            "address": t,
            "description": f"JetStream stream {e['stream']}, subject {t}",
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"publish_{key}"] = {
            "action": "send",
            "summary": f"{e['producer']} publishes {t}",
            "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Guanhuai events (关怀 · 事件目录)",
            "version": "1.0.0",
            "description": "Every event the Guanhuai services publish on NATS JetStream, as CloudEvents. "
            "Generated from services/notifications/src/notifications/catalogue/schemas; "
            "do not edit by hand.",
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "nats": {
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": "JetStream; one stream per producing service",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": {"CloudEvent": ENVELOPE} | schemas, "messages": messages},
    }


def asyncapi_yaml() -> str:
    import yaml

    return yaml.safe_dump(asyncapi_document(), allow_unicode=True, sort_keys=False, width=120)
