"""The demo receiver accepts only deliveries signed with the partner's secret, and counts each once."""

import base64
import json
import os
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from demo.receiver import create_app

SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()


def _signed(event: dict, webhook_id: str, secret: str = SECRET) -> tuple[str, dict[str, str]]:
    body = json.dumps(event)
    now = datetime.now(UTC)
    signature = Webhook(secret).sign(webhook_id, now, body)
    return body, {"webhook-id": webhook_id, "webhook-timestamp": str(int(now.timestamp())),
                  "webhook-signature": signature, "content-type": "application/json"}


async def test_signed_deliveries_are_kept_once_and_forgeries_refused():
    app = create_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver") as client:
        assert (await client.put("/secrets/civil", json={"secret": SECRET})).status_code == 204
        event = {"specversion": "1.0", "id": "e1", "type": "entitlements.decision.granted", "source": "/x"}
        body, headers = _signed(event, "msg_1")
        assert (await client.post("/hooks/civil", content=body, headers=headers)).status_code == 204
        assert (await client.post("/hooks/civil", content=body, headers=headers)).status_code == 204
        forged_body, forged = _signed(event, "msg_2", secret="whsec_" + base64.b64encode(b"x" * 24).decode())
        assert (await client.post("/hooks/civil", content=forged_body, headers=forged)).status_code == 401
        tampered = body.replace("granted", "revoked")
        assert (await client.post("/hooks/civil", content=tampered, headers=headers)).status_code == 401
        seen = (await client.get("/deliveries")).json()
    assert (seen["count"], seen["duplicates"], seen["rejected"]) == (1, 1, 2)
    assert seen["by_type"] == {"entitlements.decision.granted": 1}
