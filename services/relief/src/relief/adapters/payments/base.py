"""Payment provider interface (contract C4). Relief codes against this, never a concrete provider."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

PaymentState = Literal["accepted", "succeeded", "failed", "returned", "unknown"]


@dataclass(frozen=True)
class PaymentInstruction:
    end_to_end_id: str  # stable per payment, ≤ 35 chars, [A-Za-z0-9-]
    amount_fen: int
    payee_name: str
    bank_card: str
    memo: str


@dataclass(frozen=True)
class PaymentStatus:
    end_to_end_id: str
    state: PaymentState
    provider_ref: str | None = None
    reason: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class StatementLine:
    """One settled movement on the provider's daily statement."""

    end_to_end_id: str
    provider_ref: str
    amount_fen: int
    state: str
    value_date: date


class ProviderTimeout(Exception):
    """The provider may or may not have the instruction: query before any retry."""


class ProviderRejected(Exception):
    """The provider definitely did not accept the request (4xx)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PaymentProvider(Protocol):
    name: str

    async def submit(self, instructions: Sequence[PaymentInstruction]) -> list[PaymentStatus]: ...

    async def query(self, end_to_end_ids: Sequence[str]) -> list[PaymentStatus]:
        """Unknown ids come back with state "unknown"."""
        ...

    async def statement(self, day: date) -> list[StatementLine]: ...

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> PaymentStatus:
        """Verifies the callback's HMAC; raises ValueError if it is bad."""
        ...
