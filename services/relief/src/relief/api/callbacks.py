"""`POST /v1/provider-callbacks/simulator`: signed status reports from the payment provider."""

import time

from fastapi import APIRouter, Request
from pydantic import BaseModel

from carekit.deps import UowDep
from carekit.http.problems import PROBLEM_RESPONSES, ProblemError
from carekit.logging import get_logger
from relief.metrics import CALLBACKS
from relief.service.payments import apply_reports
from relief.service.sending import report_of

router = APIRouter(tags=["provider-callbacks"], responses=PROBLEM_RESPONSES)
log = get_logger(__name__)


class CallbackOutcome(BaseModel):
    applied: int
    ignored: int
    unknown: int


@router.post(
    "/v1/provider-callbacks/simulator",
    response_model=CallbackOutcome,
    summary="Payment status callback (HMAC-signed, X-Sim-Signature); one status or an array",
)
async def simulator_callback(request: Request, uow: UowDep) -> CallbackOutcome:
    """Duplicates and stale reports are counted and change nothing; a report for an unknown payment is
    logged and counted (404 when nothing in the body is known)."""
    provider = request.app.state.payment_provider
    body = await request.body()
    try:
        parse = getattr(provider, "parse_callbacks", None)
        statuses = parse(request.headers, body) if parse else [provider.parse_callback(request.headers, body)]
    except ValueError as exc:
        CALLBACKS.labels(provider.name, "rejected").inc()
        log.warning("callback rejected", error=str(exc))
        raise ProblemError(
            401,
            "bad-signature",
            "Callback rejected",
            f"The callback was refused: {exc}.",
            "回调被拒绝",
            "回调签名或格式无效。",
        ) from exc
    started = time.perf_counter()
    counts = await apply_reports(uow, [report_of(s) for s in statuses])
    await uow.commit()
    log.debug("callback applied", count=len(statuses), ms=round((time.perf_counter() - started) * 1000))
    for outcome in ("applied", "ignored", "unknown"):
        if counts[outcome]:
            CALLBACKS.labels(provider.name, outcome).inc(counts[outcome])
    if counts["unknown"]:
        log.warning("callback for unknown payments", count=counts["unknown"])
    if counts["unknown"] == len(statuses):
        raise ProblemError(
            404,
            "unknown-payment",
            "Unknown payment",
            "No payment has this end-to-end id; nothing was changed.",
            "未知支付",
            "没有该端到端编号的支付，未做任何更改。",
        )
    return CallbackOutcome(applied=counts["applied"], ignored=counts["ignored"], unknown=counts["unknown"])
