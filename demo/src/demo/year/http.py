"""The platform's addresses, the demo's actors (one token per role, maker ≠ checker) and small helpers
for calling and waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import httpx

T = TypeVar("T")


@dataclass(frozen=True)
class Urls:
    registry: str = "http://127.0.0.1:8001"
    entitlements: str = "http://127.0.0.1:8002"
    relief: str = "http://127.0.0.1:8003"
    notifications: str = "http://127.0.0.1:8004"
    payments: str = "http://127.0.0.1:8101"
    sms: str = "http://127.0.0.1:8102"
    receiver: str = "http://127.0.0.1:8103"


class Minter(Protocol):
    def headers(self, **kwargs: Any) -> dict[str, str]: ...


@dataclass(frozen=True)
class Actors:
    """Who does what. Each person has their own subject, so maker ≠ checker holds everywhere."""

    caseworker: dict[str, str]  # loads the township (registry)
    admin: dict[str, str]  # creates cycles (entitlements) and the township's webhook subscription
    county_admin: dict[str, str]  # registers the county health commission, whose remit is the county
    approver: dict[str, str]  # approves cycles
    fund_manager: dict[str, str]  # funds, reserves and approves payment batches
    auditor: dict[str, str]  # reads the ledger invariant

    @classmethod
    def minted(cls, tokens: Minter, county: str, township: str, ttl_seconds: int = 8 * 3600) -> Actors:
        def one(role: str, region: str, sub: str) -> dict[str, str]:
            return tokens.headers(roles=[role], region=region, sub=sub, ttl_seconds=ttl_seconds)

        return cls(
            caseworker=one("caseworker", county, "demo-caseworker"),
            admin=one("admin", township, "demo-admin"),
            county_admin=one("admin", county, "demo-county-admin"),
            approver=one("approver", township, "demo-approver"),
            fund_manager=one("fund_manager", county, "demo-fund-manager"),
            auditor=one("auditor", county, "demo-auditor"),
        )


class StageFailed(Exception):
    """A stage could not go on: a refused call, a blocked precondition or a timeout."""


class StageTimeout(StageFailed):
    pass


def checked(response: httpx.Response, *expected: int) -> Any:
    """The JSON body of an expected answer, or StageFailed naming the call and the problem."""
    if response.status_code not in (expected or (200, 201)):
        raise StageFailed(f"{response.request.method} {response.request.url.path} → {problem_text(response)}")
    return response.json() if response.content else None


def problem_text(response: httpx.Response) -> str:
    """Status and the problem's detail (and invalid fields) rather than the whole problem+json body."""
    try:
        problem = response.json()
    except ValueError:
        return f"{response.status_code} {response.text[:300]}"
    if not isinstance(problem, dict):
        return f"{response.status_code} {response.text[:300]}"
    fields = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in problem.get("errors") or [])
    return f"{response.status_code} {problem.get('detail', '')}" + (f" ({fields})" if fields else "")


async def wait_for(probe: Callable[[], Awaitable[T | None]], *, within: float, what: str, every: float = 0.5) -> T:
    """Call `probe` until it answers something truthy; StageTimeout after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise StageTimeout(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(every)


def metric_values(text: str, name: str, service: str) -> list[float]:
    """Values of a Prometheus gauge for one service (label `service="…"`) from /metrics text."""
    values = []
    for line in text.splitlines():
        if line.startswith(name + "{") and f'service="{service}"' in line:
            values.append(float(line.rsplit(" ", 1)[1]))
    return values
