"""The HTTP payment provider: speaks the payment simulator's API (batch submit, query, statements,
HMAC-signed status callbacks). See contract C4."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import httpx

from relief.adapters.payments.base import (
    PaymentInstruction,
    PaymentStatus,
    ProviderRejected,
    ProviderTimeout,
    StatementLine,
)

MAX_BATCH = 5000
STATES = frozenset({"accepted", "succeeded", "failed", "returned", "unknown"})
SIGNATURE_HEADER = "x-sim-signature"


class HttpPaymentProvider:
    name = "simulator"

    def __init__(
        self,
        base_url: str,
        merchant_id: str,
        callback_secret: str,
        timeout_s: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.merchant_id = merchant_id
        self._secret = callback_secret.encode()
        self.timeout_s = timeout_s
        self._client = client or httpx.AsyncClient()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def submit(self, instructions: Sequence[PaymentInstruction]) -> list[PaymentStatus]:
        """Send in chunks of ≤ 5000. A timeout raises ProviderTimeout: query the ids before any retry
        (resubmitting is safe too: the provider never pays one end_to_end_id twice)."""
        statuses: list[PaymentStatus] = []
        for start in range(0, len(instructions), MAX_BATCH):
            chunk = instructions[start : start + MAX_BATCH]
            body = {"instructions": [_instruction_json(i) for i in chunk]}
            answer = await self._call("POST", "/v1/payments", json=body)
            statuses.extend(_status(s) for s in answer["statuses"])
        return statuses

    async def query(self, end_to_end_ids: Sequence[str]) -> list[PaymentStatus]:
        statuses: list[PaymentStatus] = []
        for start in range(0, len(end_to_end_ids), MAX_BATCH):
            chunk = list(end_to_end_ids[start : start + MAX_BATCH])
            answer = await self._call("POST", "/v1/payments/query", json={"end_to_end_ids": chunk})
            statuses.extend(_status(s) for s in answer["statuses"])
        return statuses

    async def statement(self, day: date) -> list[StatementLine]:
        answer = await self._call("GET", f"/v1/statements/{day.isoformat()}")
        return [
            StatementLine(
                end_to_end_id=line["end_to_end_id"],
                provider_ref=line["provider_ref"],
                amount_fen=int(line["amount_fen"]),
                state=line["state"],
                value_date=date.fromisoformat(line["value_date"]),
            )
            for line in answer["lines"]
        ]

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> PaymentStatus:
        """One status from a callback whose HMAC checks out; ValueError otherwise."""
        statuses = self.parse_callbacks(headers, body)
        if len(statuses) != 1:
            raise ValueError(f"expected one status, got a batch of {len(statuses)}: use parse_callbacks")
        return statuses[0]

    def parse_callbacks(self, headers: Mapping[str, str], body: bytes) -> list[PaymentStatus]:
        """Like parse_callback, also for batch callbacks (a JSON array, merchants with batch_callbacks)."""
        self._verify(headers, body)
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise ValueError("callback body is not JSON") from exc
        items = document if isinstance(document, list) else [document]
        if not items or not all(isinstance(item, dict) for item in items):
            raise ValueError("callback body must be a status object or a non-empty array of them")
        return [_status(item) for item in items]

    def _verify(self, headers: Mapping[str, str], body: bytes) -> None:
        given = {k.lower(): v for k, v in headers.items()}.get(SIGNATURE_HEADER, "")
        scheme, _, signature = given.partition("=")
        if scheme != "sha256" or not signature:
            raise ValueError("callback has no X-Sim-Signature: sha256=<hex>")
        expected = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        # as bytes: compare_digest refuses str with non-ASCII characters (a TypeError, not a refusal)
        if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
            raise ValueError("callback signature does not match")

    async def _call(self, method: str, path: str, json: Any = None) -> Any:
        try:
            response = await self._client.request(
                method,
                self.base_url + path,
                json=json,
                headers={"X-Merchant-Id": self.merchant_id},
                timeout=self.timeout_s,
            )
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(f"{method} {path}: no answer within {self.timeout_s}s") from exc
        except httpx.TransportError as exc:
            # The request may have been written before the connection broke: treat it as unknown.
            raise ProviderTimeout(f"{method} {path}: {exc!r}") from exc
        if response.status_code >= 500:
            raise ProviderTimeout(f"{method} {path}: provider answered {response.status_code}")
        if response.status_code >= 400:
            raise ProviderRejected(_reason(response))
        return response.json()


def _instruction_json(instruction: PaymentInstruction) -> dict[str, Any]:
    return {
        "end_to_end_id": instruction.end_to_end_id,
        "amount_fen": instruction.amount_fen,
        "payee_name": instruction.payee_name,
        "bank_card": instruction.bank_card,
        "memo": instruction.memo,
    }


def _status(item: Mapping[str, Any]) -> PaymentStatus:
    try:
        end_to_end_id, state = str(item["end_to_end_id"]), str(item["state"])
    except KeyError as exc:
        raise ValueError(f"status lacks {exc}") from exc
    if state not in STATES:
        raise ValueError(f"unknown payment state {state!r}")
    occurred_at = item.get("occurred_at")
    return PaymentStatus(
        end_to_end_id=end_to_end_id,
        state=state,  # type: ignore[arg-type]
        provider_ref=item.get("provider_ref"),
        reason=item.get("reason"),
        occurred_at=datetime.fromisoformat(occurred_at) if occurred_at else None,
    )


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code}: {response.text[:200]}"
    detail = body.get("detail") if isinstance(body, dict) else None
    errors = body.get("errors") if isinstance(body, dict) else None
    return f"{response.status_code}: {detail or body}" + (f" {errors}" if errors else "")
