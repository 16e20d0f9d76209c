"""`POST /v1/partner-events`: reports from health and civil-affairs partners (CloudEvents, Standard Webhooks)."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, Field

from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_JSON, PROBLEM_RESPONSES, Problem, ProblemError, conflict
from registry.api.deps import TodayDep, VaultDep
from registry.domain.partner_events import PartnerEventType, is_json_media_type, parse_envelope
from registry.service.partner_events import PARKED, NotAuthenticated, WebhookIdTaken, authenticate, receive

router = APIRouter(prefix="/v1/partner-events", tags=["partner intake"], responses=PROBLEM_RESPONSES)
MAX_BODY = 64 * 1024

DESCRIPTION = """
A report from a partner agency, as a **structured-mode CloudEvent 1.0** (`Content-Type:
application/cloudevents+json` or `application/json`), signed per **Standard Webhooks**.

**Who is sending.** The CloudEvent `source` names the partner: `/partners/<agency>` (a sub-path of the
partner's own may follow, e.g. `/partners/health-360702/hospital-3`). No bearer token is needed: the
`webhook-signature` (`v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` made with
the partner's secret from `POST /v1/partners`) proves it. An unknown or inactive partner, a missing or bad
signature, or a `webhook-timestamp` more than 5 minutes from now: **401**. The signature is checked
before anything else about the body.

**Event types** (`type`; `data` is a JSON object; dates `YYYY-MM-DD`; ID numbers 18-character GB 11643):

| type | data |
|---|---|
| `gov.health.death_reported` | `id_number`, `died_on` |
| `gov.health.disability_assessed` | `id_number`, `grade` (1–4), `assessed_on` |
| `gov.health.birth_registered` | `mother_id_number`, `child_name`, `sex` (`male`/`female`), `birth_date`, \
`child_id_number` (optional) |
| `gov.civil_affairs.low_income_changed` | `id_number`, `kind` (`dibao`/`tekun`), `in_force` (bool), `effective_date` |

An unknown type, a bad check character, a date that is malformed, in the future or before the birth date
the ID number carries, a birth reported with a man's ID number as the mother's, or a child ID number that
disagrees with the child's sex or birth date: **422**, nothing written.

**Answers.** `200` `applied`: the life event was recorded (source `partner:<agency>`, recorded by the
agency), the registry's events were published. For a birth the child joins the mother's household,
linked to her, and to her husband when the registry knows him (her marriage events, or else the living
man who with her forms the household's head/spouse pair). `200` `already_recorded`: the registry already
held it; nothing changed. `202` `parked`: kept for a caseworker in the review queue — the ID number
matches nobody, the person lives outside the partner's region, or the report contradicts the record.
Nothing is ever dropped.

**Idempotency.** The `webhook-id` is remembered: a retry with the same id (re-signed, as Standard Webhooks
retries are) gets the first answer again, with `Idempotent-Replayed: true`, and changes nothing. An id
already used by another partner: **409**.
"""

_ATTRIBUTES = {
    "specversion": {"const": "1.0"},
    "id": {"type": "string", "maxLength": 256},
    "source": {"type": "string", "pattern": "^/partners/[a-z0-9-]+(/.*)?$", "examples": ["/partners/health-360702"]},
    "type": {"type": "string", "enum": [t.value for t in PartnerEventType]},
    "time": {"type": "string", "format": "date-time"},
    "datacontenttype": {"type": "string", "enum": ["application/json"]},
    "data": {"type": "object", "description": "See the table of event types above."},
}
_EVENT_SCHEMA = {
    "type": "object", "required": ["specversion", "id", "source", "type", "data"], "properties": _ATTRIBUTES,
    "examples": [{"specversion": "1.0", "id": "c1d0a3e2-6f1b-4c9e-9f0a-2b7d1c3e4f50",
                  "source": "/partners/health-360702", "type": "gov.health.death_reported",
                  "time": "2025-03-01T08:00:00+08:00", "datacontenttype": "application/json",
                  "data": {"id_number": "360702196605010013", "died_on": "2025-02-28"}}],
}


class DeliveryPublic(BaseModel):
    webhook_id: str
    agency: str
    type: str
    outcome: str = Field(description="applied, already_recorded or parked")
    review_item_id: uuid.UUID | None = Field(description="The review item, when parked")
    received_at: datetime


def _unauthorized(detail: str, detail_zh: str) -> ProblemError:
    return ProblemError(401, "bad-webhook-signature", "Unauthorized", detail, "未认证", detail_zh,
                        headers={"WWW-Authenticate": 'Signature realm="partner-events"'})


@router.post(
    "", response_model=DeliveryPublic, summary="Receive a signed partner report (death, disability, birth, 低保/特困)",
    description=DESCRIPTION,
    responses={202: {"model": DeliveryPublic, "description": "Accepted and parked in the review queue"},
               413: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "Body over 64 KiB"},
               415: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": "Not JSON"}},
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/cloudevents+json": {"schema": _EVENT_SCHEMA}, "application/json": {"schema": _EVENT_SCHEMA}}}},
)
async def receive_partner_event(
    request: Request, uow: UowDep, vault: VaultDep, today: TodayDep, response: Response,
    webhook_id: Annotated[str | None, Header(alias="webhook-id", description="Unique per message")] = None,
    webhook_timestamp: Annotated[str | None, Header(alias="webhook-timestamp",
                                                    description="Seconds since the epoch (UTC)")] = None,
    webhook_signature: Annotated[str | None, Header(alias="webhook-signature",
                                                    description="v1,<base64 signature> (space-separated)")] = None,
) -> DeliveryPublic:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _too_large()
    body = await request.body()
    if len(body) > MAX_BODY:
        raise _too_large()
    try:
        partner = await authenticate(uow.session, vault, body, request.headers)
    except NotAuthenticated as exc:
        raise _unauthorized(exc.detail, exc.detail_zh) from exc
    if not is_json_media_type(request.headers.get("content-type")):
        raise ProblemError(415, "unsupported-media-type", "Unsupported media type",
                           "Send the CloudEvent as application/cloudevents+json (structured mode) or "
                           "application/json.", "不支持的内容类型",
                           "请以 application/cloudevents+json（结构化模式）或 application/json 发送。")
    envelope = parse_envelope(body)
    try:
        delivery = await receive(uow, partner, webhook_id or "", envelope, vault, today)
    except WebhookIdTaken as exc:
        raise conflict("webhook-id-taken", "Another partner already sent a message with this webhook-id; use "
                       "unique ids (e.g. msg_<uuid>).",
                       "其他合作机构已使用该 webhook-id，请使用唯一的消息标识。") from exc
    if delivery.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        await uow.commit()
    response.status_code = 202 if delivery.outcome == PARKED else 200
    return DeliveryPublic(webhook_id=delivery.webhook_id, agency=delivery.agency, type=delivery.type,
                          outcome=delivery.outcome, review_item_id=delivery.review_item_id,
                          received_at=delivery.received_at)


def _too_large() -> ProblemError:
    return ProblemError(413, "payload-too-large", "Payload too large", f"A partner event is at most {MAX_BODY} bytes.",
                        "请求体过大", f"合作机构事件最大为{MAX_BODY}字节。")
