"""What a run of the year found: per stage, per policy, SMS, webhooks, the death, the ledger."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StageResult:
    name: str
    status: str = "pending"  # ok, failed, skipped, blocked
    seconds: float = 0.0
    note: str = ""


@dataclass
class PolicyResult:
    policy: str
    period: str
    fund: str | None = None
    cycle_id: str | None = None
    lines: int = 0  # decisions frozen into the cycle (beneficiaries)
    amount_fen: int = 0
    without_payee: int = 0
    batch_id: str | None = None
    batch_status: str | None = None
    payments: Counter[str] = field(default_factory=Counter)  # by final status
    paid_fen: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # why payments were not made
    paid_payees: list[str] = field(default_factory=list)


@dataclass
class DeathResult:
    household_id: str = ""
    child_id: str = ""
    parent_ids: list[str] = field(default_factory=list)
    outcome: str = ""  # the registry's answer to the partner report
    granted: bool = False  # the parents' special assistance (bereaved) appeared in entitlements
    webhook_seen: bool = False
    seconds: float = 0.0


@dataclass
class YearSummary:
    township: str
    run_tag: str
    households: int = 0
    persons: int = 0
    rows_refused: int = 0
    events_recorded: int = 0
    stages: list[StageResult] = field(default_factory=list)
    policies: list[PolicyResult] = field(default_factory=list)
    notifications: bool = True  # False: notifications was not reachable; SMS and webhooks skipped
    # Payment notices for our paid payees, each in a final state: notices = sent + not sent + suppressed,
    # sent = delivered + undelivered (see count_sms).
    sms_notices: int = 0
    sms_sent: int = 0  # handed to the SMS gateway
    sms_delivered: int = 0  # the gateway's receipt said delivered
    sms_undelivered: int = 0  # sent, but the receipt said it was not delivered
    sms_not_sent: int = 0  # refused by every gateway, or too old to send (expired)
    sms_suppressed: int = 0  # never sent on purpose: no phone, deceased…
    sms_at_simulator: int = 0  # of ours, found at the SMS simulator
    webhooks_delivered: int = 0  # verified and kept by the receiver
    webhooks_rejected: int = 0  # bad signatures at the receiver
    webhooks_by_type: dict[str, int] = field(default_factory=dict)
    death: DeathResult = field(default_factory=DeathResult)
    invariant_ok: bool | None = None
    invariant_problems: list[str] = field(default_factory=list)

    def stage(self, name: str) -> StageResult:
        found = next((s for s in self.stages if s.name == name), None)
        if found is None:
            found = StageResult(name)
            self.stages.append(found)
        return found

    @property
    def ok(self) -> bool:
        """Every stage finished (skipped ones were skipped on purpose) and the ledger balances."""
        return self.invariant_ok is True and all(s.status in ("ok", "skipped") for s in self.stages)

    def count_sms(self, notices: Iterable[Mapping[str, Any]], at_gateway: set[str]) -> None:
        """The SMS counters from the notices' final states and what the SMS gateway holds. A notice is sent
        if the gateway holds it or it was delivered: a receipt can mark a message delivered (or not)
        before notifications has written the gateway's reference and send time, so those columns of a
        snapshot do not tell whether it was sent (issue 13: "sent / delivered 206 / 230")."""
        notices = list(notices)
        sent = [n for n in notices if n["state"] == "delivered" or str(n["id"]) in at_gateway or n["sent_at"]]
        self.sms_notices = len(notices)
        self.sms_sent = len(sent)
        self.sms_delivered = sum(n["state"] == "delivered" for n in sent)
        self.sms_undelivered = self.sms_sent - self.sms_delivered
        self.sms_suppressed = sum(n["state"] == "suppressed" for n in notices)
        self.sms_not_sent = self.sms_notices - self.sms_sent - self.sms_suppressed
        self.sms_at_simulator = sum(str(n["id"]) in at_gateway for n in notices)

    @property
    def payments(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for p in self.policies:
            total.update(p.payments)
        return total
