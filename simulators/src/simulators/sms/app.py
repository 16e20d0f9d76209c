"""FastAPI app of the SMS gateway simulator (`uvicorn --factory simulators.sms.app:create_app`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, Field

from simulators.problems import install_admin_conventions, problem
from simulators.sms import aliyun_api, tencent_api
from simulators.sms.gateway import Gateway, e164
from simulators.sms.settings import SmsFaultConfig, SmsSimSettings

admin = APIRouter(prefix="/_sim")


class InboundBody(BaseModel):
    provider: Literal["aliyun", "tencent"]
    phone: str
    text: str = Field(min_length=1, max_length=500)


def gateway_of(request: Request) -> Gateway:
    return request.app.state.gateway


@admin.get("/messages", operation_id="sim-messages-list")
async def messages(
    request: Request, provider: str | None = None, phone: str | None = None, limit: int = 1000, offset: int = 0
) -> Any:
    chosen = [
        m
        for m in gateway_of(request).messages
        if (provider is None or m.provider == provider) and (phone is None or m.phone == phone)
    ]
    return {"total": len(chosen), "messages": [m.public() for m in chosen[offset : offset + limit]]}


@admin.get("/stats", operation_id="sim-sms-stats")
async def stats(request: Request) -> Any:
    gateway = gateway_of(request)
    return {"messages": len(gateway.messages), "events": dict(gateway.stats), "idle": gateway.idle}


@admin.post("/inbound", operation_id="sim-inbound", status_code=202)
async def inbound(body: InboundBody, request: Request) -> Any:
    if e164(body.phone) is None:
        return problem(422, "Invalid phone", f"Not a mainland mobile number: {body.phone}")
    return {"pushed": gateway_of(request).inbound(body.provider, e164(body.phone), body.text)}


@admin.get("/config", operation_id="sim-sms-config-get")
async def get_config(request: Request) -> Any:
    return gateway_of(request).faults.model_dump()


@admin.put("/config", operation_id="sim-sms-config-put")
async def put_config(body: dict[str, Any], request: Request) -> Any:
    gateway = gateway_of(request)
    unknown = sorted(set(body) - set(SmsFaultConfig.model_fields))
    if unknown:
        return problem(422, "Unknown setting", f"Not a simulator setting: {', '.join(unknown)}")
    try:
        updated = SmsFaultConfig.model_validate({**gateway.faults.model_dump(), **body})
    except ValueError as exc:
        return problem(422, "Invalid setting", str(exc))
    for name in SmsFaultConfig.model_fields:
        setattr(gateway.faults, name, getattr(updated, name))
    return gateway.faults.model_dump()


@admin.put("/urls", operation_id="sim-sms-urls-put")
async def put_urls(body: dict[str, str], request: Request) -> Any:
    """Point receipts/inbound elsewhere, e.g. {"aliyun_receipts_url": "..."}."""
    settings = gateway_of(request).settings
    names = {f"{p}_{k}_url" for p in ("aliyun", "tencent") for k in ("receipts", "inbound")}
    unknown = sorted(set(body) - names)
    if unknown:
        return problem(422, "Unknown setting", f"Not a URL setting: {', '.join(unknown)}")
    for name, value in body.items():
        setattr(settings, name, value)
    return {name: getattr(settings, name) for name in sorted(names)}


@admin.post("/reset", operation_id="sim-sms-reset")
async def reset(request: Request) -> Any:
    gateway_of(request).reset()
    return {"reset": True}


def build_settings(settings: SmsSimSettings | None, overrides: dict[str, Any]) -> SmsSimSettings:
    settings = settings or SmsSimSettings()
    faults = {k: v for k, v in overrides.items() if k in SmsFaultConfig.model_fields}
    rest = {k: v for k, v in overrides.items() if k not in faults}
    merged = {**settings.model_dump(), **rest, "faults": {**settings.faults.model_dump(), **faults}}
    return SmsSimSettings.model_validate(merged)


def create_app(settings: SmsSimSettings | None = None, **overrides: Any) -> FastAPI:
    """Overrides may name any setting or fault field, e.g. create_app(failure_rate=0.1, aliyun_receipts_url=...)."""
    resolved = build_settings(settings, overrides)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.gateway = Gateway(resolved, resolved.faults.model_copy())
        app.state.gateway.start()
        try:
            yield
        finally:
            await app.state.gateway.stop()

    app = FastAPI(title="Guanhuai SMS gateway simulator (Alibaba Cloud + Tencent Cloud)", lifespan=lifespan)
    install_admin_conventions(app)
    app.include_router(aliyun_api.router)
    app.include_router(tencent_api.router)
    app.include_router(admin)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {"status": "ok"}

    return app
