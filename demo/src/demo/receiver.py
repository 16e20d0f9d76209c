"""The demo partner receiver: a partner agency's endpoint that verifies every delivery with the
`standardwebhooks` package, as an integrator would, and keeps what it received for the demo's summary.

`POST /hooks/{partner}` takes CloudEvents JSON signed per Standard Webhooks; a bad or missing signature
is answered 401 and counted; a webhook-id seen before is acknowledged and not counted twice.
`GET /deliveries` lists what arrived; `PUT /secrets/{partner}` sets the `whsec_` secret to verify with.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from pydantic import BaseModel
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Received:
    secrets: dict[str, list[str]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # webhook-id → CloudEvent
    by_type: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    duplicates: int = 0


class SecretBody(BaseModel):
    secret: str


def create_app() -> FastAPI:
    app = FastAPI(title="Demo partner receiver (verifies Standard Webhooks signatures)")
    received = Received()
    app.state.received = received

    @app.put("/secrets/{partner}", status_code=204)
    async def set_secret(partner: str, body: SecretBody) -> None:
        received.secrets.setdefault(partner, []).append(body.secret)

    @app.post("/hooks/{partner}")
    async def hook(partner: str, request: Request) -> Response:
        body = await request.body()
        event = _verified(received.secrets.get(partner, []), body, dict(request.headers))
        if event is None:
            received.rejected += 1
            return Response(status_code=401)
        webhook_id = request.headers["webhook-id"]
        if webhook_id in received.events:
            received.duplicates += 1
        else:
            received.events[webhook_id] = event
            received.by_type[event.get("type", "?")] += 1
        return Response(status_code=204)

    @app.get("/deliveries")
    async def deliveries() -> dict[str, Any]:
        return {"count": len(received.events), "by_type": dict(received.by_type), "rejected": received.rejected,
                "duplicates": received.duplicates, "events": list(received.events.values())[-100:]}

    return app


def _verified(secrets: list[str], body: bytes, headers: dict[str, str]) -> dict[str, Any] | None:
    for secret in reversed(secrets):  # the newest first: after a rotation both are accepted
        try:
            return Webhook(secret).verify(body, headers)
        except WebhookVerificationError:
            continue
    return None
