"""`/healthz` (alive), `/readyz` (database, migrations, NATS) and `/metrics` (Prometheus)."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from carekit.events.relay import outbox_stats
from carekit.http.problems import PROBLEM_JSON, Problem
from carekit.metrics import CONSUMER_ACK_PENDING, CONSUMER_LAG, DEAD_LETTER_BACKLOG, OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="health-alive", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", operation_id="health-ready", summary="Database reachable, migrations at head, NATS connected",
            responses={503: {"model": Problem, "content": {PROBLEM_JSON: {}},
                             "description": "Not ready: `checks` names what is not ok"}})
async def readyz(request: Request) -> JSONResponse:
    runtime = request.app.state.runtime
    checks: dict[str, str] = {}
    try:
        revision = await runtime.db.current_revision()
        checks["database"] = "ok"
        checks["migrations"] = (
            "ok" if revision == runtime.expected_revision
            else f"at {revision}, expected {runtime.expected_revision}"
        )
    except Exception as exc:  # noqa: BLE001 - report, don't raise
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
    checks["nats"] = "ok" if runtime.nats_connected else "disconnected"
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    if not ready:
        body.update(
            type="urn:guanhuai:problem:not-ready", title="Not ready", status=503,
            detail="; ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok"),
            title_zh="服务未就绪",
        )
    return JSONResponse(body, status_code=200 if ready else 503,
                        media_type="application/json" if ready else "application/problem+json")


@router.get("/metrics", operation_id="health-metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    runtime = request.app.state.runtime
    service = runtime.settings.service_name
    try:
        async with runtime.db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            backlog, age = await outbox_stats(raw.driver_connection)
        OUTBOX_BACKLOG.labels(service).set(backlog)
        OUTBOX_OLDEST_AGE.labels(service).set(age)
    except Exception:  # noqa: BLE001, S110 - metrics must render even when the database is down
        pass
    if runtime.nats_connected:
        for consumer in runtime.consumers.values():
            try:
                pending, ack_pending = await consumer.lag()
                CONSUMER_LAG.labels(service, consumer.durable).set(pending)
                CONSUMER_ACK_PENDING.labels(service, consumer.durable).set(ack_pending)
            except Exception:  # noqa: BLE001, S112
                continue
        store = runtime.dead_letters
        if store is not None:
            try:
                DEAD_LETTER_BACKLOG.labels(service).set(await store.count())
            except Exception:  # noqa: BLE001, S110
                pass
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
