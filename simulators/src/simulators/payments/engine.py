"""The simulated provider's books: payments in memory, a timeline of due state changes and callbacks.

Every payment's fate (fails or not, returned or not, duplicate or stale callbacks, settlement jitter)
is drawn from (seed, end_to_end_id), so a run is reproducible whatever order the payments arrive in.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from simulators.common import CHINA, draws, iso, utcnow
from simulators.payments.settings import FaultConfig

FAILURE_REASONS = (
    "账户已销户 account closed",
    "户名不符 payee name does not match the account",
    "账户冻结 account frozen",
    "卡号不存在 no such card",
)
RETURN_REASON = "收款行退汇 returned by the receiving bank"


@dataclass
class Payment:
    merchant_id: str
    end_to_end_id: str
    amount_fen: int
    payee_name: str
    bank_card: str
    memo: str
    provider_ref: str
    state: str
    accepted_at: datetime
    history: dict[str, tuple[datetime, str | None]] = field(default_factory=dict)  # state → (when, reason)

    def status(self, state: str | None = None) -> dict:
        state = state or self.state
        occurred_at, reason = self.history[state]
        return {
            "end_to_end_id": self.end_to_end_id,
            "state": state,
            "provider_ref": self.provider_ref,
            "reason": reason,
            "occurred_at": iso(occurred_at),
        }

    def public(self) -> dict:
        return {
            **self.status(),
            "merchant_id": self.merchant_id,
            "amount_fen": self.amount_fen,
            "payee_name": self.payee_name,
            "bank_card": self.bank_card,
            "memo": self.memo,
            "accepted_at": iso(self.accepted_at),
        }


@dataclass(order=True)
class Due:
    at: float
    seq: int
    kind: str = field(compare=False)  # "transition" (state change + its callback) or "callback" (resend a state)
    end_to_end_id: str = field(compare=False)
    state: str = field(compare=False)


class Ledger:
    def __init__(self, faults: FaultConfig) -> None:
        self.faults = faults
        self.payments: dict[str, Payment] = {}
        self.timeline: list[Due] = []
        self.stats: Counter[str] = Counter()
        self._seq = itertools.count()
        self._refs = itertools.count(1)

    def reset(self) -> None:
        self.payments.clear()
        self.timeline.clear()
        self.stats.clear()
        self._refs = itertools.count(1)

    def accept(self, merchant_id: str, instruction: dict) -> tuple[dict, bool]:
        """Book one instruction; an end_to_end_id seen before is never booked twice: its status is returned."""
        e2e = instruction["end_to_end_id"]
        existing = self.payments.get(e2e)
        if existing is not None:
            self.stats["resubmitted"] += 1
            return existing.status(), False
        now = utcnow()
        payment = Payment(
            merchant_id=merchant_id,
            provider_ref=f"SIM{next(self._refs):012d}",
            state="accepted",
            accepted_at=now,
            history={"accepted": (now, None)},
            **instruction,
        )
        self.payments[e2e] = payment
        self.stats["accepted"] += 1
        self._plan(payment)
        return payment.status(), True

    def _plan(self, payment: Payment) -> None:
        f = self.faults
        fail, jitter, pick, returned, duplicate, stale = draws(f.seed, payment.end_to_end_id, 6)
        start = time.monotonic()
        settle_at = start + (f.settle_delay_ms + jitter * f.settle_jitter_ms) / 1000
        final = "failed" if fail < f.failure_rate else "succeeded"
        if f.accepted_callbacks:
            self._due(start, "callback", payment, "accepted")
        is_returned = final == "succeeded" and returned < f.return_rate
        out_of_order = stale < f.out_of_order_rate
        last = return_at = settle_at + f.return_delay_ms / 1000 if is_returned else settle_at
        if is_returned and out_of_order:
            # the 'returned' callback overtakes the 'succeeded' one
            self._due(settle_at, "transition-silent", payment, final)
            self._due(return_at, "transition", payment, "returned")
            self._due(last := return_at + 0.05, "callback", payment, final)
        else:
            self._due(settle_at, "transition", payment, final)
            if is_returned:
                self._due(return_at, "transition", payment, "returned")
            if out_of_order:  # an earlier state's callback arrives after the final one
                self._due(last := last + 0.05, "callback", payment, "accepted")
        if duplicate < f.duplicate_rate:  # the last state's callback once more, after everything else
            self._due(last + 0.05, "callback", payment, "returned" if is_returned else final)
        if final == "failed":
            payment.history["failed"] = (payment.accepted_at, FAILURE_REASONS[int(pick * len(FAILURE_REASONS))])

    def _due(self, at: float, kind: str, payment: Payment, state: str) -> None:
        heapq.heappush(self.timeline, Due(at, next(self._seq), kind, payment.end_to_end_id, state))

    def next_due_in(self) -> float | None:
        return self.timeline[0].at - time.monotonic() if self.timeline else None

    def pop_due(self) -> list[tuple[str, dict]]:
        """Apply every due state change; return the callbacks to send as (merchant_id, status body)."""
        now = time.monotonic()
        out: list[tuple[str, dict]] = []
        while self.timeline and self.timeline[0].at <= now:
            due = heapq.heappop(self.timeline)
            payment = self.payments.get(due.end_to_end_id)
            if payment is None:
                continue
            if due.kind.startswith("transition"):
                self._transition(payment, due.state)
                if due.kind == "transition-silent":
                    continue
            else:
                self.stats["callbacks_extra"] += 1
            out.append((payment.merchant_id, payment.status(due.state)))
        return out

    def _transition(self, payment: Payment, state: str) -> None:
        when = utcnow()
        reason = payment.history.get(state, (when, None))[1]
        if state == "returned":
            reason = RETURN_REASON
        payment.history[state] = (when, reason)
        payment.state = state
        self.stats[state] += 1

    def query(self, end_to_end_ids: list[str]) -> list[dict]:
        statuses = []
        for e2e in end_to_end_ids:
            payment = self.payments.get(e2e)
            statuses.append(
                payment.status()
                if payment
                else {
                    "end_to_end_id": e2e,
                    "state": "unknown",
                    "provider_ref": None,
                    "reason": None,
                    "occurred_at": None,
                }
            )
        return statuses

    def statement(self, merchant_id: str, day: date) -> list[dict]:
        """Settled movements whose value date (China time) is `day`: payouts, and returns as credits."""
        lines = []
        for payment in self.payments.values():
            if payment.merchant_id != merchant_id:
                continue
            for state in ("succeeded", "returned"):
                if state not in payment.history or payment.state == "accepted":
                    continue
                when = payment.history[state][0]
                if when.astimezone(CHINA).date() != day:
                    continue
                lines.append(
                    {
                        "end_to_end_id": payment.end_to_end_id,
                        "provider_ref": payment.provider_ref,
                        "amount_fen": payment.amount_fen,
                        "state": state,
                        "value_date": day.isoformat(),
                    }
                )
        return lines

    def counts(self) -> dict:
        by_state = Counter(p.state for p in self.payments.values())
        return {
            "payments": len(self.payments),
            "by_state": dict(by_state),
            "amount_fen_succeeded": sum(p.amount_fen for p in self.payments.values() if p.state == "succeeded"),
            "pending_events": len(self.timeline),
            "events": dict(self.stats),
        }
