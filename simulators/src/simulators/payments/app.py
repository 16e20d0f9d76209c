"""FastAPI app of the payment simulator (`uvicorn --factory simulators.payments.app:create_app`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from simulators.payments.callbacks import CallbackSender
from simulators.payments.engine import Ledger
from simulators.payments.files import FINAL, read_batch_file, write_result_file
from simulators.payments.settings import FaultConfig, MerchantConfig, PaymentSimSettings
from simulators.problems import install_admin_conventions, problem

MAX_BATCH = 5000


class Instruction(BaseModel):
    end_to_end_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,35}$")
    amount_fen: int = Field(gt=0)
    payee_name: str = Field(min_length=1, max_length=100)
    bank_card: str = Field(pattern=r"^[0-9]{12,19}$")
    memo: str = Field("", max_length=140)


class SubmitBody(BaseModel):
    instructions: list[Instruction] = Field(min_length=1, max_length=MAX_BATCH)


class QueryBody(BaseModel):
    end_to_end_ids: list[str] = Field(min_length=1, max_length=MAX_BATCH)


class Simulator:
    """Everything one running payment simulator holds; lives on app.state.sim."""

    def __init__(self, settings: PaymentSimSettings) -> None:
        self.settings = settings
        self.faults = settings.faults.model_copy()
        self.merchants: dict[str, MerchantConfig] = settings.default_merchants()
        self.ledger = Ledger(self.faults)
        self.sender = CallbackSender(self.faults, self.merchants, self.ledger.stats)
        self.requests = random.Random(self.faults.seed)
        self.files: dict[tuple[str, str], list[str]] = {}
        self.stopping = asyncio.Event()
        self._clock: asyncio.Task | None = None

    def start(self) -> None:
        self.sender.start()
        self._clock = asyncio.create_task(self._tick())

    async def stop(self) -> None:
        self.stopping.set()
        if self._clock:
            self._clock.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock
        await self.sender.close()

    def configure(self, changes: dict[str, Any]) -> None:
        updated = FaultConfig.model_validate({**self.faults.model_dump(), **changes})
        for name in FaultConfig.model_fields:
            setattr(self.faults, name, getattr(updated, name))
        if "seed" in changes:
            self.requests = random.Random(self.faults.seed)

    def reset(self) -> None:
        self.ledger.reset()
        self.files.clear()
        self.sender.drop_pending()
        self.requests = random.Random(self.faults.seed)

    async def _tick(self) -> None:
        while True:
            for merchant_id, status in self.ledger.pop_due():
                self.sender.put(merchant_id, status)
            wait = self.ledger.next_due_in()
            await asyncio.sleep(0.02 if wait is None else min(max(wait, 0.001), 0.02))

    async def answer_late(self) -> None:
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)

    async def hang(self) -> None:
        """The instructions are booked but the caller never hears back (it sees a timeout)."""
        self.ledger.stats["timeouts_injected"] += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), self.faults.hang_s)


def sim_of(request: Request) -> Simulator:
    return request.app.state.sim


MerchantHeader = Annotated[str, Header(alias="X-Merchant-Id")]


def plain_json(document: object) -> Response:
    """Large answers skip FastAPI's jsonable_encoder walk: they are plain JSON types already."""
    return Response(json.dumps(document, ensure_ascii=False), media_type="application/json")


def unknown_merchant(merchant_id: str) -> JSONResponse:
    return problem(401, "Unknown merchant", f"No merchant '{merchant_id}' is configured on this simulator.")


api = APIRouter()


@api.post("/v1/payments", operation_id="payments-submit")
async def submit(body: SubmitBody, request: Request, merchant_id: MerchantHeader) -> Any:
    sim = sim_of(request)
    if merchant_id not in sim.merchants:
        return unknown_merchant(merchant_id)
    if sim.requests.random() < sim.faults.error_rate:
        sim.ledger.stats["errors_injected"] += 1
        return problem(503, "Provider unavailable", "The provider is down for a moment; nothing was booked.")
    times_out = sim.requests.random() < sim.faults.timeout_rate
    statuses = [sim.ledger.accept(merchant_id, i)[0] for i in body.model_dump()["instructions"]]
    if times_out:
        await sim.hang()
    await sim.answer_late()
    return plain_json({"statuses": statuses})


@api.post("/v1/payments/query", operation_id="payments-query")
async def query(body: QueryBody, request: Request, merchant_id: MerchantHeader) -> Any:
    sim = sim_of(request)
    if merchant_id not in sim.merchants:
        return unknown_merchant(merchant_id)
    await sim.answer_late()
    statuses = sim.ledger.query(body.end_to_end_ids)
    for status in statuses:  # another merchant's payment is unknown to this one
        payment = sim.ledger.payments.get(status["end_to_end_id"])
        if payment is not None and payment.merchant_id != merchant_id:
            status.update(state="unknown", provider_ref=None, reason=None, occurred_at=None)
    return plain_json({"statuses": statuses})


@api.get("/v1/statements/{day}", operation_id="statements-get")
async def statement(day: date, request: Request, merchant_id: MerchantHeader) -> Any:
    sim = sim_of(request)
    if merchant_id not in sim.merchants:
        return unknown_merchant(merchant_id)
    await sim.answer_late()
    return plain_json({"date": day.isoformat(), "lines": sim.ledger.statement(merchant_id, day)})


@api.post("/v1/batch-files", operation_id="batch-files-submit", status_code=202)
async def submit_file(request: Request, merchant_id: MerchantHeader) -> Any:
    """The bank-file channel: a GUANHUAI-PAY CSV in, its result file later from .../result."""
    sim = sim_of(request)
    if merchant_id not in sim.merchants:
        return unknown_merchant(merchant_id)
    try:
        batch_ref, instructions = read_batch_file(await request.body())
        checked = [Instruction.model_validate(i).model_dump() for i in instructions]
    except ValueError as exc:
        return problem(422, "Invalid batch file", str(exc))
    sim.files[(merchant_id, batch_ref)] = [i["end_to_end_id"] for i in checked]
    for instruction in checked:
        sim.ledger.accept(merchant_id, instruction)
    return {"batch_ref": batch_ref, "count": len(checked)}


@api.get("/v1/batch-files/{batch_ref}/result", operation_id="batch-files-result")
async def file_result(batch_ref: str, request: Request, merchant_id: MerchantHeader) -> Any:
    sim = sim_of(request)
    ids = sim.files.get((merchant_id, batch_ref))
    if ids is None:
        return problem(404, "Unknown batch file", f"No batch file '{batch_ref}' from this merchant.")
    payments = [sim.ledger.payments[e2e] for e2e in dict.fromkeys(ids)]
    unsettled = sum(1 for p in payments if p.state not in FINAL)
    if unsettled:
        return problem(409, "Result not ready", f"{unsettled} payments are still being settled.", unsettled=unsettled)
    return Response(write_result_file(batch_ref, payments), media_type="text/csv; charset=utf-8")


admin = APIRouter(prefix="/_sim")


@admin.put("/merchants/{merchant_id}", operation_id="sim-merchant-put")
async def put_merchant(merchant_id: str, body: MerchantConfig, request: Request) -> Any:
    sim_of(request).merchants[merchant_id] = body
    return {"merchant_id": merchant_id, **body.model_dump()}


@admin.get("/merchants", operation_id="sim-merchants-list")
async def list_merchants(request: Request) -> Any:
    return {k: v.model_dump() for k, v in sim_of(request).merchants.items()}


@admin.get("/config", operation_id="sim-config-get")
async def get_config(request: Request) -> Any:
    return sim_of(request).faults.model_dump()


@admin.put("/config", operation_id="sim-config-put")
async def put_config(body: dict[str, Any], request: Request) -> Any:
    sim = sim_of(request)
    unknown = sorted(set(body) - set(FaultConfig.model_fields))
    if unknown:
        return problem(422, "Unknown setting", f"Not a simulator setting: {', '.join(unknown)}")
    try:
        sim.configure(body)
    except ValueError as exc:
        return problem(422, "Invalid setting", str(exc))
    return sim.faults.model_dump()


@admin.get("/payments", operation_id="sim-payments-list")
async def list_payments(request: Request, state: str | None = None, limit: int = 1000, offset: int = 0) -> Any:
    payments = sim_of(request).ledger.payments.values()
    chosen = [p for p in payments if state is None or p.state == state]
    return plain_json({"total": len(chosen), "payments": [p.public() for p in chosen[offset : offset + limit]]})


@admin.get("/stats", operation_id="sim-stats")
async def stats(request: Request) -> Any:
    sim = sim_of(request)
    return {**sim.ledger.counts(), "callbacks_idle": sim.sender.idle}


@admin.post("/reset", operation_id="sim-reset")
async def reset(request: Request) -> Any:
    sim_of(request).reset()
    return {"reset": True}


def build_settings(settings: PaymentSimSettings | None, overrides: dict[str, Any]) -> PaymentSimSettings:
    settings = settings or PaymentSimSettings()
    faults = {k: v for k, v in overrides.items() if k in FaultConfig.model_fields}
    rest = {k: v for k, v in overrides.items() if k not in faults}
    merged = {**settings.model_dump(), **rest, "faults": {**settings.faults.model_dump(), **faults}}
    return PaymentSimSettings.model_validate(merged)


def create_app(settings: PaymentSimSettings | None = None, **overrides: Any) -> FastAPI:
    """Overrides may name any setting or fault field, e.g. create_app(failure_rate=0.05, callback_url=...)."""
    resolved = build_settings(settings, overrides)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.sim = Simulator(resolved)
        app.state.sim.start()
        try:
            yield
        finally:
            await app.state.sim.stop()

    app = FastAPI(title="Guanhuai payment provider simulator", lifespan=lifespan)
    install_admin_conventions(app)
    app.include_router(api)
    app.include_router(admin)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {"status": "ok"}

    return app
